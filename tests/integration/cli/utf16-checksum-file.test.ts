/**
 * A checksum file saved as UTF-16 text: what Windows PowerShell 5.1 writes for
 * `Get-FileHash … > SHA256SUMS` or `sha256sum … | Out-File` (UTF-16LE with a byte-order mark, CRLF),
 * on a release server fed from a Windows build machine. The binary-checksum fix calls it "is a
 * binary file (the release archive itself?), not a sha256sum file": the operator is sent to look
 * for an archive where a readable text file is, and is not told the one thing to change. A manifest
 * in UTF-16 is named as UTF-16 with the way out ("save it as UTF-8"); a checksum file should be
 * read as the text it is, or refused the same way. Real server, real `ship` runs.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const archive = gzipSync(appRelease("1.0.0"));
const line = `${createHash("sha256").update(archive).digest("hex")}  app.tar.gz\r\n`;
const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line, "utf16le")]);

let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === "/app.tar.gz") res.end(archive);
    else if (req.url === "/SHA256SUMS") res.writeHead(200, { "content-type": "text/plain" }).end(utf16le);
    else res.writeHead(404).end();
  });
  root = await mkdtemp(join(tmpdir(), "ship-utf16-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a checksum file saved as UTF-16 text (with its byte-order mark)", () => {
  it("is read as text, or refused naming UTF-16 and the way out; never called binary or the archive", async () => {
    const local = join(root, "SHA256SUMS");
    await writeFile(local, utf16le);
    for (const [name, checksum] of [
      ["served", `${server.url}/SHA256SUMS`],
      ["local", local],
    ] as const) {
      const { config, app } = await httpApp(
        join(root, name),
        `${server.url}/app.tar.gz`,
        `checksum = "${checksum}"\nretries = 0\n`,
      );
      const run = await runShip(["--config", config]);
      const said = run.stdout + run.stderr;
      expect(said, name).not.toContain("binary file");
      expect(said, name).not.toContain("archive itself");
      if (run.code === 0) expect(await readdir(app)).not.toEqual([]);
      else {
        expect(run.code, `${name}: ${said}`).toBe(2);
        expect(said).toContain(checksum);
        expect(said).toContain("UTF-16");
        expect(said).toContain("UTF-8");
        expect(await readdir(app)).toEqual([]);
      }
    }
  });
});
