import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../../agent/download/download.js";
import { DownloadError } from "../../../agent/download/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer, startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";

const payload = randomBytes(256 * 1024);
const payloadSha = createHash("sha256").update(payload).digest("hex");
const SECRET = "Bearer s3cr3t-token-value";

describe.skipIf(!hasProgram("openssl"))("downloadFile against a real HTTPS server", () => {
  let tmp: string;
  let cert: TestCert;
  let server: TestServer;
  const routes = new Map<string, FileRoute>();

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-download-"));
    cert = await makeTestCert(tmp);
    server = await startHttpsServer(fileRoutes(routes), cert);
  });
  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    routes.clear();
    server.requests.length = 0;
  });

  const base = (extra: Partial<Parameters<typeof downloadFile>[0]> = {}) => ({
    url: `${server.url}/release.tar.gz`,
    dest: join(tmp, "out.bin"),
    caFile: cert.caFile,
    retryDelayMs: 0,
    ...extra,
  });

  it("downloads over TLS verified with the configured CA, hashing while streaming", async () => {
    routes.set("/release.tar.gz", {
      body: payload,
      etag: '"v1"',
      lastModified: "Tue, 01 Oct 2024 10:00:00 GMT",
    });
    const seen: number[] = [];
    const result = await downloadFile(base({ onProgress: (bytes) => seen.push(bytes) }));
    expect(result).toMatchObject({
      status: "downloaded",
      sha256: payloadSha,
      bytes: payload.length,
      etag: '"v1"',
    });
    expect((await readFile(join(tmp, "out.bin"))).equals(payload)).toBe(true);
    expect(seen.at(-1)).toBe(payload.length);
  });

  it("refuses a server certificate it cannot verify, without retrying", async () => {
    routes.set("/release.tar.gz", { body: payload });
    const err = await downloadFile(base({ caFile: undefined, retries: 3 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).retryable).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it("answers not-modified on 304 without a body", async () => {
    routes.set("/release.tar.gz", { body: payload, etag: '"v1"' });
    const result = await downloadFile(base({ ifNoneMatch: '"v1"' }));
    expect(result).toEqual({ status: "not-modified" });
    expect(server.requests[0]?.headers["if-none-match"]).toBe('"v1"');
    expect((await readFile(join(tmp, "out.bin"))).length).toBe(0);
  });

  it("resumes with Range + If-Range after the connection is cut halfway; headers sent, never logged", async () => {
    routes.set("/release.tar.gz", { body: payload, etag: '"v1"', cutTimes: 1, cutAfter: 100_000 });
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const result = await downloadFile(base({ headers: { authorization: SECRET }, log: memoryLogger(lines) }));
    expect(result).toMatchObject({ status: "downloaded", sha256: payloadSha, resumes: 1, restarts: 0 });
    expect(server.requests).toHaveLength(2);
    const resumed = server.requests[1];
    expect(resumed?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(resumed?.headers.range ?? "")?.[0])).toBeGreaterThan(0);
    expect(resumed?.headers["if-range"]).toBe('"v1"');
    expect(server.requests.every((r) => r.headers.authorization === SECRET)).toBe(true);
    expect(lines.some((l) => l.msg.includes("retrying"))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
  });

  it("starts over cleanly when the server ignores Range", async () => {
    routes.set("/release.tar.gz", { body: payload, etag: '"v1"', cutTimes: 1, honorRange: false });
    const result = await downloadFile(base());
    expect(result).toMatchObject({ status: "downloaded", sha256: payloadSha, restarts: 1, resumes: 0 });
    expect(server.requests[1]?.headers.range).toBeDefined();
    expect((await readFile(join(tmp, "out.bin"))).equals(payload)).toBe(true);
  });

  it("retries 503 and 429, then succeeds", async () => {
    routes.set("/release.tar.gz", { body: payload, failTimes: 2, failStatus: 503 });
    expect(await downloadFile(base({ retries: 2 }))).toMatchObject({
      status: "downloaded",
      sha256: payloadSha,
    });
    routes.set("/release.tar.gz", { body: payload, failTimes: 1, failStatus: 429 });
    expect(await downloadFile(base({ retries: 1 }))).toMatchObject({ status: "downloaded" });
  });

  it("gives up after the configured retries", async () => {
    routes.set("/release.tar.gz", { body: payload, failTimes: 10, failStatus: 502 });
    const err = await downloadFile(base({ retries: 2 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, retryable: true });
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 404 or 403", async () => {
    const err = await downloadFile(base({ url: `${server.url}/missing`, retries: 3 })).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 404, retryable: false });
    expect(server.requests).toHaveLength(1);
    routes.set("/release.tar.gz", { body: payload, failTimes: 1, failStatus: 403 });
    await expect(downloadFile(base({ retries: 3 }))).rejects.toMatchObject({ status: 403 });
  });

  it("refuses a file over the size limit", async () => {
    routes.set("/release.tar.gz", { body: payload });
    await expect(downloadFile(base({ maxBytes: 1000 }))).rejects.toThrow(/over the limit of 1000/);
  });

  it("never puts query values (presigned signatures) in its errors", async () => {
    const err = await downloadFile(
      base({ url: `${server.url}/missing?X-Amz-Signature=topsecret`, retries: 0 }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).not.toContain("topsecret");
  });
});

describe("downloadFile against plain HTTP", () => {
  it("retries a refused connection and reports a clear error", async () => {
    const server = await startHttpServer(() => undefined);
    const url = `${server.url}/x`;
    await server.close();
    const dir = await mkdtemp(join(tmpdir(), "ship-download-"));
    try {
      const err = await downloadFile({ url, dest: join(dir, "f"), retries: 1, retryDelayMs: 0 }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(DownloadError);
      expect((err as DownloadError).retryable).toBe(true);
      expect((err as Error).message).toMatch(/ECONNREFUSED/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
