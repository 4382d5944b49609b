/**
 * An http source whose `checksum = "sha256:…"` the operator moved to a new archive while the server
 * still gives the old ETag (a server that reuses ETags: nginx's is mtime + size, so a same-size
 * archive copied with its mtime kept has the old one). The pinned checksum says what should be
 * installed: ship asks unconditionally instead of taking the 304 as "up to date" for ever.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const routes = new Map<string, FileRoute>();
const server = fileServerForFile(routes);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-http-pinned-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const release = (version: string) => gzipSync(appRelease(version));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("`ship` over http with a pinned checksum and a server that reuses its ETag", () => {
  it("a checksum moved to another archive is installed, not answered 'up to date' by the old ETag", async () => {
    const app = join(root, "app");
    await mkdir(app);
    const config = join(root, "ship.toml");
    const configure = (checksum: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "http"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${app}"\nchecksum = "sha256:${checksum}"\n`,
      );
    const v1 = release("1.0.0");
    const v2 = release("2.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"same"' });
    await configure(sha(v1));
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");

    // The same checksum and ETag: still a 304, nothing downloaded.
    const again = await runShip(["--config", config, "--check-only"]);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain("up to date (1.0.0)");

    routes.set("/app.tar.gz", { body: v2, etag: '"same"' });
    await configure(sha(v2).toUpperCase());
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    const update = await runShip(["--config", config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stdout).toContain("updated 1.0.0 → 2.0.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 2.0.0\n");
    expect((await runShip(["--config", config, "--check-only"])).code).toBe(0);
  });
});
