/**
 * A checksum or signature file past the 64 KiB ship reads of one is bad input from every source
 * (DESIGN.md: exit 2, nothing changed). Over SFTP and from a local path it was exit 2; over HTTP
 * the same file was "download of … failed: larger than 64 KiB …", exit 1, as if a retry could mend
 * it (a .sha256 url pointing at a log, a SHA256SUMS grown past the limit, a .sig that is a page, a
 * small gzip-encoded body that expands past the limit). Real server, real `ship` runs.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../shared/signing/index.js";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const archive = gzipSync(appRelease("1.0.0"));
const line = `${createHash("sha256").update(archive).digest("hex")}  app.tar.gz\n`;
const huge = `${line}${"# padding\n".repeat(7_000)}`;
const LIMIT = (how = "") =>
  `is larger than 64 KiB (65536 bytes)${how}, the most a checksum or signature file may hold`;

let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === "/app.tar.gz") res.end(archive);
    else if (req.url === "/SHA256SUMS") res.end(huge);
    // No Content-Length: the limit is met while reading, not from a header.
    else if (req.url === "/chunked.sha256") {
      res.write(huge.slice(0, 40_000));
      res.end(huge.slice(40_000));
    } else if (req.url === "/bomb.sha256")
      res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(huge));
    else if (req.url === "/app.tar.gz.sig") res.end("x".repeat(70_000));
    else res.writeHead(404).end();
  });
  root = await mkdtemp(join(tmpdir(), "ship-huge-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function update(name: string, keys: string) {
  const { config, app } = await httpApp(join(root, name), `${server.url}/app.tar.gz`, keys);
  return { app, ...(await runShip(["--config", config])) };
}

describe("a checksum or signature file over the limit, over http", () => {
  it("is exit 2 naming the url, as from sftp or a local path, nothing installed", async () => {
    const local = join(root, "SHA256SUMS");
    await writeFile(local, huge);
    const cases: [string, string, string][] = [
      ["served", `${server.url}/SHA256SUMS`, ""],
      ["chunked", `${server.url}/chunked.sha256`, ""],
      ["bomb", `${server.url}/bomb.sha256`, " once decompressed (Content-Encoding gzip)"],
      ["local", local, ""],
    ];
    for (const [name, checksum, how] of cases) {
      const run = await update(name, `checksum = "${checksum}"\n`);
      expect(run.code, `${name}: ${run.stdout}${run.stderr}`).toBe(2);
      expect(run.stdout).toContain(`${checksum}: ${LIMIT(how)}`);
      expect(run.stdout).not.toContain("download of");
      expect(await readdir(run.app)).toEqual([]);
    }
  });

  it("a .sig beside the release over the limit: exit 2 naming it, nothing installed", async () => {
    const keyFile = join(root, "release.pub");
    await writeFile(keyFile, generateKeyPair().publicKeyPem);
    const run = await update("sig", `\n[trust]\nkey_files = ["${keyFile}"]\n`);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(`${server.url}/app.tar.gz.sig: ${LIMIT()}`);
    expect(await readdir(run.app)).toEqual([]);
  });

  it("a local archive's .sig over the limit is refused in the same words (it said 'is larger than 65536 bytes')", async () => {
    const dir = join(root, "local-sig");
    const app = join(dir, "app");
    await mkdir(app, { recursive: true });
    const config = join(dir, "ship.toml");
    const release = join(dir, "app.tar.gz");
    await writeFile(release, archive);
    await writeFile(`${release}.sig`, "x".repeat(70_000));
    const keyFile = join(dir, "release.pub");
    await writeFile(keyFile, generateKeyPair().publicKeyPem);
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "local"\npath = "${release}"\napp_dir = "${app}"\n\n[trust]\nkey_files = ["${keyFile}"]\n`,
    );
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(`${release}.sig ${LIMIT()}`);
    expect(await readdir(app)).toEqual([]);
  });
});
