/**
 * A checksum file that is binary as stored, not as sent: a `SHA256SUMS.gz` (gzipped on disk, sent
 * without a Content-Encoding), or `checksum` set to the archive's own URL or path by mistake.
 * The encoded-checksum fix kept "not a sha256sum line: \x1f\x8b…" out of the terminal only when the
 * server labelled the encoding; these still quote 80 bytes of gzip (NULs, control characters,
 * U+FFFD) into the terminal, the log and --json. It is refused, exit 2, naming where it was read,
 * in one readable line, nothing installed. Real server, real `ship` runs.
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
const sumsGz = gzipSync(`${createHash("sha256").update(archive).digest("hex")}  app.tar.gz\n`);

let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === "/app.tar.gz") res.end(archive);
    else if (req.url === "/SHA256SUMS.gz")
      res.writeHead(200, { "content-type": "application/gzip" }).end(sumsGz);
    else res.writeHead(404).end();
  });
  root = await mkdtemp(join(tmpdir(), "ship-binary-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Control characters other than newline and tab, and U+FFFD (bytes that were no UTF-8). */
function binaryIn(text: string): string[] {
  return [...text].filter((c) => (c < " " && c !== "\n" && c !== "\t") || c === "\u007f" || c === "\ufffd");
}

async function update(name: string, checksum: string) {
  const { config, app } = await httpApp(
    join(root, name),
    `${server.url}/app.tar.gz`,
    `checksum = "${checksum}"\nretries = 0\n`,
  );
  const run = await runShip(["--config", config]);
  return { app, ...run };
}

describe("a checksum file that is binary", () => {
  it("refused with exit 2 naming where it was read, no binary bytes quoted back, nothing installed", async () => {
    const local = join(root, "SHA256SUMS.gz");
    await writeFile(local, sumsGz);
    const cases = [
      { name: "served-gz", checksum: `${server.url}/SHA256SUMS.gz` },
      { name: "the-archive", checksum: `${server.url}/app.tar.gz` },
      { name: "local-gz", checksum: local },
    ];
    for (const { name, checksum } of cases) {
      const run = await update(name, checksum);
      expect(run.code, `${name}: ${run.stdout}`).toBe(2);
      expect(run.stdout).toContain(checksum);
      expect(binaryIn(run.stdout), `${name}: ${JSON.stringify(run.stdout)}`).toEqual([]);
      expect(binaryIn(run.stderr), `${name}: ${JSON.stringify(run.stderr)}`).toEqual([]);
      expect(await readdir(run.app)).toEqual([]);
    }
  });
});
