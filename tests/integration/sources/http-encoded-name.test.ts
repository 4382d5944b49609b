/**
 * An http release whose name needs percent-encoding in its URL (a space, `é`, `+`), checked
 * against a sha256sum file listing several releases by their names on disk (`sha256sum *.tar.gz >
 * SHA256SUMS`). The url's last part was compared still encoded (`my%20app-1.0.tar.gz`), so no line
 * matched: exit 2 "no sha256 for my%20app-1.0.tar.gz", though the file lists it.
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
  root = await mkdtemp(join(tmpdir(), "ship-http-encoded-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("`ship` over http: a release name that is percent-encoded in its url", () => {
  it.each([
    ["a space", "my app-1.0.0.tar.gz"],
    ["a non-ASCII letter", "café-1.0.0.tar.gz"],
    ["a plus sign", "app+extras-1.0.0.tar.gz"],
  ])("%s: its line of a several-line SHA256SUMS is found and checked", async (_what, name) => {
    const dir = await mkdtemp(join(root, "case-"));
    await mkdir(join(dir, "app"));
    const body = gzipSync(appRelease("1.0.0"));
    const other = gzipSync(appRelease("0.9.0"));
    const path = `/releases/${encodeURIComponent(name)}`;
    routes.set(path, { body, etag: `"${sha(body).slice(0, 12)}"` });
    routes.set("/releases/SHA256SUMS", {
      body: `${sha(other)}  myapp-0.9.0.tar.gz\n${sha(body)}  ${name}\n`,
    });
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${server.url}${path}"\napp_dir = "${dir}/app"\nchecksum = "${server.url}/releases/SHA256SUMS"\n`,
    );
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("installed 1.0.0");
    expect(await readFile(join(dir, "app/app.txt"), "utf8")).toBe("app 1.0.0\n");

    // The line for it names another archive's hash: a mismatch, not a pass.
    routes.set("/releases/SHA256SUMS", {
      body: `${sha(body)}  myapp-0.9.0.tar.gz\n${sha(other)}  ${name}\n`,
    });
    routes.set(path, { body: gzipSync(appRelease("1.1.0")), etag: '"new"' });
    const mismatch = await runShip(["--config", config]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stdout).toMatch(/checksum mismatch/);
  });
});
