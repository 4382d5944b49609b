/**
 * A checksum URL served with a Content-Encoding (an S3 object uploaded with `Content-Encoding:
 * gzip`, nginx `gzip_static always`): the compressed bytes were read as the file, and a right
 * checksum was refused with exit 2 "not a sha256sum line: \x1f\x8b…", binary noise on the terminal.
 * It is decoded as the file it is (gzip, deflate, br); one that expands past the 64 KiB a
 * checksum file may hold, or an encoding ship cannot undo, is refused and nothing is installed.
 * Real server, real `ship` runs.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const archive = gzipSync(appRelease("1.0.0"));
const sum = `${createHash("sha256").update(archive).digest("hex")}  app.tar.gz\n`;
/** Checksum files by path: the body sent and its Content-Encoding. */
const sums: Record<string, { body: Buffer; encoding: string }> = {
  "/gzip.sha256": { body: gzipSync(sum), encoding: "gzip" },
  "/deflate.sha256": { body: deflateSync(sum), encoding: "deflate" },
  "/br.sha256": { body: brotliCompressSync(sum), encoding: "br" },
  "/bomb.sha256": { body: gzipSync(`${sum}${"#".repeat(200 * 1024)}\n`), encoding: "gzip" },
  "/odd.sha256": { body: Buffer.from(sum), encoding: "compress" },
  "/liar.sha256": { body: Buffer.from(sum), encoding: "gzip" },
};

let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const file = sums[req.url ?? ""];
    if (req.url === "/app.tar.gz") res.end(archive);
    else if (file === undefined) res.writeHead(404).end();
    else res.writeHead(200, { "content-encoding": file.encoding }).end(file.body);
  });
  root = await mkdtemp(join(tmpdir(), "ship-http-encoded-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function update(name: string): Promise<{ app: string; code: number | null; stdout: string }> {
  const keys = `checksum = "${server.url}/${name}.sha256"\nretries = 0\n`;
  const { config, app } = await httpApp(join(root, name), `${server.url}/app.tar.gz`, keys);
  const run = await runShip(["--config", config]);
  return { app, code: run.code, stdout: run.stdout };
}

describe("a checksum file served compressed", () => {
  it("gzip, deflate or br: decoded, verified, installed", async () => {
    for (const name of ["gzip", "deflate", "br"]) {
      const run = await update(name);
      expect(run.code, `${name}: ${run.stdout}`).toBe(0);
      expect(run.stdout).toContain("installed 1.0.0");
      expect(await readFile(join(run.app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
    }
  });

  it("one that expands past 64 KiB, or that cannot be decoded: refused, one readable line, nothing installed", async () => {
    // Bad input, as the same file too large uncompressed is (exit 2 from every source).
    const bomb = await update("bomb");
    expect(bomb.code).toBe(2);
    expect(bomb.stdout).toContain(
      `${server.url}/bomb.sha256: is larger than 64 KiB (65536 bytes) once decompressed (Content-Encoding gzip), the most a checksum or signature file may hold`,
    );
    expect(await readdir(bomb.app)).toEqual([]);

    const odd = await update("odd");
    expect(odd.code).toBe(2);
    expect(odd.stdout).toContain(
      `${server.url}/odd.sha256: sent with Content-Encoding compress, which ship cannot decode: serve it uncompressed`,
    );
    expect(await readdir(odd.app)).toEqual([]);

    const liar = await update("liar");
    expect(liar.code).toBe(2);
    expect(liar.stdout).toMatch(
      /liar\.sha256: sent with Content-Encoding gzip, but it does not decompress as that/,
    );
    expect(await readdir(liar.app)).toEqual([]);
    // No compressed bytes quoted back: gzip's magic is 0x1f 0x8b.
    const binary = (text: string) =>
      [...text].filter((c) => c === "\u001f" || c === "\u008b" || c === "\ufffd");
    for (const run of [bomb, odd, liar]) expect(binary(run.stdout)).toEqual([]);
  });
});
