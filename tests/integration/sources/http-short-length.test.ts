/**
 * A server whose Content-Length is shorter than the file (a proxy that rewrote the body, a server
 * that compresses as it sends) delivers exactly the bytes it announced, and the archive stops
 * mid-stream. The error read `URL: not a valid tar archive: unexpected end of file` (exit 2): it
 * blamed the archive the operator published and gave no length to compare. It now names the
 * server's length beside the bytes that came (still exit 2, nothing installed). A real TCP server
 * writes the lying header.
 * Its neighbour: a server that compresses the .tar.gz again on the way (Content-Encoding: gzip).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import type { SourceContext } from "../../../agent/sources/types.js";
import { HttpSource as HttpSourceConfig } from "../../../shared/config/schema.js";
import { VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

/**
 * What the next request gets: the body, the Content-Length to claim (none: close ends it), and a
 * Content-Encoding header.
 */
let answer: { body: Buffer; length: number | undefined; encoding?: string } = {
  body: Buffer.alloc(0),
  length: 0,
};

const tarball = buildTar([
  { path: "myapp/update-manifest.yaml", body: 'version: "1.0.0"\n' },
  // Random text: gzip cannot shrink it, so a cut near the end lands inside this file.
  { path: "myapp/app.txt", body: randomBytes(150_000).toString("base64") },
]);
const gzipped = gzipSync(tarball);

describe("HttpSource: a server that announces fewer bytes than the file has", () => {
  let tmp: string;
  let server: Server;
  let url: string;
  let ctx: SourceContext;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-short-length-"));
    server = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        const { body, length, encoding } = answer;
        const header =
          (length === undefined ? "" : `Content-Length: ${length}\r\n`) +
          (encoding === undefined ? "" : `Content-Encoding: ${encoding}\r\n`);
        socket.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\n${header}Connection: close\r\n\r\n`,
            ),
            body,
          ]),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}/app.tar.gz`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    ctx = { stateDir: await mkdtemp(join(tmp, "state-")), log: memoryLogger([]), retryDelayMs: 0 };
  });

  const fetchInto = async (extra: Record<string, unknown> = {}) => {
    const stage = await mkdtemp(join(tmp, "stage-"));
    const source = createSource(
      "web",
      HttpSourceConfig.parse({ type: "http", app_dir: "/opt/app", url, ...extra }),
      ctx,
    );
    const error = await source.fetch(stage).then(
      () => undefined,
      (err: unknown) => err,
    );
    return { error, staged: await readdir(stage) };
  };

  it.each([
    ["a .tar.gz (gzip: unexpected end of file)", gzipped, /unexpected end of file/],
    ["a plain .tar (tar: truncated input)", tarball, /Truncated input/],
  ])("%s: names the URL and the announced length, not the archive", async (_, file, why) => {
    const announced = file.length - 6000;
    answer = { body: file, length: announced };
    const { error, staged } = await fetchInto();
    expect(error).toBeInstanceOf(VerificationError);
    const message = (error as Error).message;
    expect(message).toContain(`${url}: not a valid tar archive: it ends early (`);
    expect(message).toMatch(why);
    expect(message).toContain(
      `after ${announced} bytes, all the server announced (Content-Length: ${announced}): the server's Content-Length is shorter than the file`,
    );
    // Exit 2 as every unreadable archive: a lying length and a file cut short look alike here.
    expect((error as VerificationError).exitCode).toBe(2);
    expect(staged).toEqual([]);
  });

  it("a body cut short with no length announced says the file or the connection was cut", async () => {
    answer = { body: gzipped.subarray(0, gzipped.length - 6000), length: undefined };
    const { error } = await fetchInto();
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as Error).message).toContain(
      `not a valid tar archive: it ends early (unexpected end of file) after ${gzipped.length - 6000} bytes, where the server ended the body (it announced no length): the file on the server is cut short, or the connection was cut`,
    );
  });

  it("with a checksum, the mismatch is the error: the bytes are not the release", async () => {
    answer = { body: gzipped, length: gzipped.length - 6000 };
    const sha256 = createHash("sha256").update(gzipped).digest("hex");
    const { error } = await fetchInto({ checksum: `sha256:${sha256}` });
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as Error).message).toMatch(/sha256|checksum/i);
  });

  it("a whole archive with a true length installs", async () => {
    answer = { body: gzipped, length: gzipped.length };
    const { error, staged } = await fetchInto();
    expect(error).toBeUndefined();
    expect(staged.length).toBeGreaterThan(0);
  });

  // A server that gzips the .tar.gz again on the way (ship sends no Accept-Encoding): the archive
  // read "nested compression is not supported" and a checksum "checksum mismatch", blaming the release.
  it("a .tar.gz compressed again by the server (Content-Encoding: gzip) names the server's encoding", async () => {
    const twice = gzipSync(gzipped);
    answer = { body: twice, length: twice.length, encoding: "gzip" };
    const plain = await fetchInto();
    expect(plain.error).toBeInstanceOf(VerificationError);
    expect((plain.error as Error).message).toBe(
      `${url}: nested compression is not supported: the server compressed the file again on the way (Content-Encoding: gzip), which ship did not ask for; turn off compression on the fly for this file on the server (a .tar.gz is compressed already)`,
    );
    const sha256 = createHash("sha256").update(gzipped).digest("hex");
    const checked = await fetchInto({ checksum: `sha256:${sha256}` });
    expect((checked.error as Error).message).toMatch(
      /: checksum mismatch: .* \(the server sent it with Content-Encoding: gzip, which ship did not ask for: if it compresses the file on the fly, the bytes are not the file; /,
    );
    // Apache's `AddEncoding x-gzip .gz` only labels the file: its bytes are the archive, which installs.
    answer = { body: gzipped, length: gzipped.length, encoding: "gzip" };
    expect((await fetchInto({ checksum: `sha256:${sha256}` })).error).toBeUndefined();
  });
});
