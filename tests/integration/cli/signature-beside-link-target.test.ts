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
import { mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { localArchiveApp, signedArchive } from "./signed-archive.js";

let server: TestServer;
let root: string;
let trust: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-sig-link-"));
  const signed = await signedArchive(root);
  trust = signed.trust;
  await symlink("myapp-1.0.0.tar.gz", join(root, "latest.tar.gz"));
  const body = await readFile(signed.archive);
  const sig = await readFile(`${signed.archive}.sig`);
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

describe("a signed archive offered by a latest name, its .sig beside the versioned file", () => {
  it("a local path that is a latest symlink: the .sig beside its target is read, the release installed", async () => {
    const { config, app } = await localArchiveApp(join(root, "local"), join(root, "latest.tar.gz"), trust);
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
      `retries = 0\n${trust}`,
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(said).not.toContain("unsigned");
    expect(run.code, said).toBe(0);
    expect(await readdir(app)).not.toEqual([]);
  });
});
