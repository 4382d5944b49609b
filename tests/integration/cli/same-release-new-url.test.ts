/**
 * Pointing a source at another place that serves the installed release (a mirror, a renamed path)
 * is not an update: the run downloads it once to learn that, ends "up to date" without a backup or
 * an apply, and the next run asks the new URL conditionally. Before, the same archive was installed
 * again: a new backup, the hooks run, "updated 1.0.0 → 1.0.0".
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

describe("a new url serving the installed release", () => {
  let root: string;
  let server: TestServer;
  const archive = gzipSync(
    buildTar([
      {
        path: "update-manifest.yaml",
        body: 'version: "1.0.0"\nhooks:\n  post_update: ["echo ran >> ../hook.log"]\n',
      },
      { path: "app.txt", body: "v1\n" },
    ]),
  );
  const etag = `"${createHash("sha256").update(archive).digest("hex").slice(0, 16)}"`;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-same-url-"));
    server = await startHttpServer((req, res) => {
      if (req.url !== "/releases/app.tar.gz" && req.url !== "/mirror/app.tar.gz")
        return void res.writeHead(404).end();
      if (req.headers["if-none-match"] === etag) return void res.writeHead(304).end();
      res.writeHead(200, { etag, "content-length": archive.length }).end(archive);
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("ends up to date with no backup and no hook, and the next check is conditional", async () => {
    const app = join(root, "app");
    await mkdir(app);
    const config = join(root, "ship.toml");
    const writeConfig = (path: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "http"\nurl = "${server.url}${path}"\napp_dir = "${app}"\n`,
      );
    await writeConfig("/releases/app.tar.gz");
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await readFile(join(root, "hook.log"), "utf8")).toBe("ran\n");
    const backups = await readdir(join(root, "var/backups/web"));

    await writeConfig("/mirror/app.tar.gz");
    const moved = await runShip(["--config", config]);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    // Named by its version, like the check below, not by the archive's digest.
    expect(moved.stdout).toBe("web: up to date (1.0.0)\n");
    expect(await readFile(join(root, "hook.log"), "utf8")).toBe("ran\n");
    expect(await readdir(join(root, "var/backups/web"))).toEqual(backups);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");

    server.requests.length = 0;
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("up to date (1.0.0)");
    expect(server.requests.map((r) => [r.path, r.headers["if-none-match"]])).toEqual([
      ["/mirror/app.tar.gz", etag],
    ]);
  });
});
