/**
 * A `.sig` saved as UTF-16 text with its byte-order mark (what Windows PowerShell 5.1's `>` or
 * `Out-File` writes when a release is copied on a Windows build machine), for an archive
 * `ship release sign` signed. Since 775d1b25 every companion file is read through one decoding:
 * served over http the .sig is read as the text it is and the signature checked (installed, and a
 * wrong one in UTF-16 refused as "bad signature"). Beside a local archive the same .sig is refused
 * as "malformed: … the signature document is not JSON", the release not installed: the operator
 * is told the signature is broken where it is the one http accepts. Real `ship release keygen` and
 * `sign`, a real http server, real `ship` runs.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { localArchiveApp, signedArchive } from "./signed-archive.js";

let server: TestServer;
let root: string;
let archive: string;
let trust: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-utf16-sig-"));
  ({ archive, trust } = await signedArchive(root));
  const text = (await readFile(`${archive}.sig`, "utf8")).replace(/\n/g, "\r\n");
  const utf16Sig = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
  await writeFile(`${archive}.sig`, utf16Sig);
  const body = await readFile(archive);
  server = await startHttpServer((req, res) => {
    if (req.url === "/myapp-1.0.0.tar.gz") res.end(body);
    else if (req.url === "/myapp-1.0.0.tar.gz.sig") res.end(utf16Sig);
    else res.writeHead(404).end();
  });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a .sig saved as UTF-16 text (with its byte-order mark)", () => {
  it("is read as text over http, and beside a local archive alike", async () => {
    const served = await httpApp(
      join(root, "served"),
      `${server.url}/myapp-1.0.0.tar.gz`,
      `retries = 0\n${trust}`,
    );
    const overHttp = await runShip(["--config", served.config]);
    expect(overHttp.code, overHttp.stdout + overHttp.stderr).toBe(0);
    expect(await readdir(served.app)).not.toEqual([]);

    const { config, app } = await localArchiveApp(join(root, "local"), archive, trust);
    const local = await runShip(["--config", config]);
    const said = local.stdout + local.stderr;
    expect(said).not.toContain("not JSON");
    expect(local.code, said).toBe(0);
    expect(await readdir(app)).not.toEqual([]);
  });
});
