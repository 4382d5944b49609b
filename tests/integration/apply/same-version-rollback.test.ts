/**
 * One version, two releases: 2.0.0 installed from a real HTTP server (with an ETag), then 2.0.0
 * rebuilt (new bytes, new ETag) and installed again, then `ship --rollback` back to the first build.
 * After a rollback the state and the source's record follow what is on disk — but the check
 * compared versions only, and both were 2.0.0: the state kept the rebuilt release's id, the http
 * source kept its ETag, and the next run asked If-None-Match, got 304 and said "up to date (2.0.0)"
 * with the first build on disk, never offering the rebuild again. Now the release id counts too.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

function build(text: string): { archive: Buffer; etag: string } {
  const archive = gzipSync(
    buildTar([
      { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
      { path: "app.txt", body: text },
    ]),
  );
  return { archive, etag: `"${createHash("sha256").update(archive).digest("hex").slice(0, 16)}"` };
}

let root: string;
let server: TestServer;
let served = build("first build\n");

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-same-version-"));
  served = build("first build\n");
  server = await startHttpServer((req, res) => {
    if (req.headers["if-none-match"] === served.etag) return void res.writeHead(304).end();
    res.writeHead(200, { etag: served.etag, "content-length": served.archive.length }).end(served.archive);
  });
});
afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a rollback between two builds of one version (real HTTP server, real CLI)", () => {
  it("the state names the build on disk and the next run offers the rebuild again", async () => {
    const app = join(root, "app");
    await mkdir(app);
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${app}"\n`,
    );
    const state = async () => JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).sources.web;
    expect((await runShip(["--config", config])).code).toBe(0);
    const firstId = (await state()).release_id;

    served = build("rebuilt\n");
    const rebuilt = await runShip(["--config", config]);
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("rebuilt\n");
    expect((await state()).release_id).not.toBe(firstId);

    const list = await runShip(["--config", config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(list.stdout) as { id: string }[];
    const back = await runShip(["--config", config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("first build\n");
    expect(await state()).toMatchObject({ current_version: "2.0.0", release_id: firstId });

    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    const again = await runShip(["--config", config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("rebuilt\n");
  });
});
