/**
 * `ship release sign` writes ARCHIVE.sig beside the versioned archive (myapp-1.0.0.tar.gz.sig); a
 * server offers it by a stable name: a `latest.tar.gz` symlink, or a `latest.tar.gz` URL that
 * redirects to the versioned one. a3bf089f made sftp read the .sig beside each file a latest link
 * leads through ("one ship release sign had signed was refused as unsigned"). The same release
 * through a local `path` that is such a link, or an http url that redirects to it, is still
 * refused: "signature: unsigned: the release carries no signature and trusted keys are configured",
 * though it is signed and its signature sits where `ship release sign` put it. Real `ship release
 * keygen`/`sign`, a real http server, real `ship` runs.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

let server: TestServer;
let root: string;
let archive: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-sig-link-"));
  archive = join(root, "myapp-1.0.0.tar.gz");
  await writeFile(archive, gzipSync(appRelease("1.0.0")));
  const keygen = await runShip(["release", "keygen", "--out", join(root, "keys")]);
  expect(keygen.code, keygen.stderr).toBe(0);
  const sign = await runShip([
    "release",
    "sign",
    "--key",
    join(root, "keys/ship-release.key"),
    "--app",
    "web",
    archive,
  ]);
  expect(sign.code, sign.stderr).toBe(0);
  await symlink("myapp-1.0.0.tar.gz", join(root, "latest.tar.gz"));
  const body = await readFile(archive);
  const sig = await readFile(`${archive}.sig`);
  server = await startHttpServer((req, res) => {
    if (req.url === "/latest.tar.gz") res.writeHead(302, { location: "/myapp-1.0.0.tar.gz" }).end();
    else if (req.url === "/myapp-1.0.0.tar.gz") res.end(body);
    else if (req.url === "/myapp-1.0.0.tar.gz.sig") res.end(sig);
    else res.writeHead(404).end();
  });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const trust = () => `\n[trust]\nkey_files = ["${join(root, "keys/ship-release.pub")}"]\n`;

describe("a signed archive offered by a latest name, its .sig beside the versioned file", () => {
  it("a local path that is a latest symlink: the .sig beside its target is read, the release installed", async () => {
    const dir = join(root, "local");
    const app = join(dir, "app");
    await mkdir(app, { recursive: true });
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "local"\npath = "${join(root, "latest.tar.gz")}"\napp_dir = "${app}"\n${trust()}`,
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(said).not.toContain("unsigned");
    expect(run.code, said).toBe(0);
    expect(await readdir(app)).not.toEqual([]);
  });

  it("an http url that redirects to the versioned archive: the .sig beside where it led is read", async () => {
    const { config, app } = await httpApp(
      join(root, "http"),
      `${server.url}/latest.tar.gz`,
      `retries = 0\n${trust()}`,
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(said).not.toContain("unsigned");
    expect(run.code, said).toBe(0);
    expect(await readdir(app)).not.toEqual([]);
  });
});
