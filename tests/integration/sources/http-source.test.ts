import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSource, openSource } from "../../../agent/sources/create.js";
import type { SourceContext } from "../../../agent/sources/types.js";
import { HttpSource as HttpSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

function releaseArchive(version: string, extra: { path: string; body: string }[] = []): Buffer {
  return gzipSync(
    buildTar([
      { path: `myapp-${version}/update-manifest.yaml`, body: `version: "${version}"\n` },
      { path: `myapp-${version}/app.txt`, body: `app ${version}\n`.repeat(2000) },
      ...extra,
    ]),
  );
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.skipIf(!hasProgram("openssl"))("HttpSource against a real HTTPS server", () => {
  let tmp: string;
  let cert: TestCert;
  let server: TestServer;
  const routes = new Map<string, FileRoute>();
  let lines: { level: string; msg: string; data?: Record<string, unknown> }[];
  let ctx: SourceContext;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-http-src-"));
    cert = await makeTestCert(tmp);
    server = await startHttpsServer(fileRoutes(routes), cert);
  });
  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    routes.clear();
    server.requests.length = 0;
    lines = [];
    const stateDir = await mkdtemp(join(tmp, "state-"));
    ctx = { stateDir, log: memoryLogger(lines), retryDelayMs: 0 };
  });

  const source = (extra: Record<string, unknown> = {}) =>
    createSource(
      "web",
      HttpSourceConfig.parse({
        type: "https",
        app_dir: "/opt/app",
        url: `${server.url}/app.tar.gz`,
        ca_file: cert.caFile,
        headers: { Authorization: "Bearer topsecret-token" },
        ...extra,
      }),
      ctx,
    );
  const staging = async () => {
    const dir = await mkdtemp(join(tmp, "stage-"));
    return dir;
  };

  it("checks with a conditional GET: 304 after commit means no update and no body", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"etag-v1"', lastModified: "Tue, 01 Oct 2024 10:00:00 GMT" });
    const src = source({ checksum: `sha256:${sha(v1)}` });
    expect(await src.check()).toMatchObject({ available: true, candidate: '"etag-v1"' });

    const stage = await staging();
    const release = await src.fetch(stage);
    expect(release).toMatchObject({ id: `sha256:${sha(v1)}`, artifactSha256: sha(v1) });
    expect(await readFile(join(stage, "update-manifest.yaml"), "utf8")).toContain("1.0.0");
    // Hashed while extracting, keyed below the stripped top directory: the pipeline need not re-read.
    expect(release.fileHashes).toEqual(
      new Map([
        ["update-manifest.yaml", sha(await readFile(join(stage, "update-manifest.yaml")))],
        ["app.txt", sha(await readFile(join(stage, "app.txt")))],
      ]),
    );
    await src.commit(release);
    await expect(stat(release.artifactPath as string)).rejects.toMatchObject({ code: "ENOENT" });

    server.requests.length = 0;
    const again = await source().check();
    expect(again).toMatchObject({ available: false, current: "1.0.0" });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers["if-none-match"]).toBe('"etag-v1"');
    expect(server.requests[0]?.headers["if-modified-since"]).toBe("Tue, 01 Oct 2024 10:00:00 GMT");

    // A new release behind the same URL is seen.
    routes.set("/app.tar.gz", { body: releaseArchive("1.1.0"), etag: '"etag-v2"' });
    expect(await source().check()).toMatchObject({
      available: true,
      current: "1.0.0",
      candidate: '"etag-v2"',
    });
    expect(JSON.stringify(lines)).not.toContain("topsecret");
    expect(server.requests.every((r) => r.headers.authorization === "Bearer topsecret-token")).toBe(true);
  });

  it("an update costs one request for the archive: the check's answer is the download; a 304 costs that request alone", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"etag-v1"' });
    const archiveGets = () => server.requests.filter((r) => r.path === "/app.tar.gz");
    // A run: check, then fetch on the same source.
    const first = source({ checksum: `sha256:${sha(v1)}` });
    expect(await first.check()).toMatchObject({ available: true });
    const release = await first.fetch(await staging());
    expect(release.artifactSha256).toBe(sha(v1));
    expect(archiveGets()).toHaveLength(1);
    await first.commit(release);

    // The next run finds a new release: its conditional GET is the download.
    const v2 = releaseArchive("2.0.0");
    routes.set("/app.tar.gz", { body: v2, etag: '"etag-v2"' });
    server.requests.length = 0;
    const second = source();
    expect(await second.check()).toMatchObject({ available: true, candidate: '"etag-v2"' });
    const stage = await staging();
    const update = await second.fetch(stage);
    expect(update.artifactSha256).toBe(sha(v2));
    expect(await readFile(join(stage, "update-manifest.yaml"), "utf8")).toContain("2.0.0");
    expect(archiveGets()).toHaveLength(1);
    expect(archiveGets()[0]?.headers["if-none-match"]).toBe('"etag-v1"');
    await second.commit(update);

    // Up to date: the one conditional request, answered 304, and nothing else.
    server.requests.length = 0;
    expect(await source().check()).toMatchObject({ available: false, current: "2.0.0" });
    expect(server.requests).toHaveLength(1);

    // A check whose answer is cut before the fetch reads it all: the download asks again (resuming
    // with Range from what it read, if anything) and installs the whole archive.
    const v3 = releaseArchive("3.0.0");
    routes.set("/app.tar.gz", { body: v3, etag: '"etag-v3"', cutTimes: 1 });
    server.requests.length = 0;
    const third = source({ checksum: `sha256:${sha(v3)}` });
    expect(await third.check()).toMatchObject({ available: true });
    expect((await third.fetch(await staging())).artifactSha256).toBe(sha(v3));
    expect(archiveGets()).toHaveLength(2);
  });

  it("close() lets go of a check's answer no fetch took: a fetch after it asks again", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"etag-v1"' });
    const src = source();
    expect(await src.check()).toMatchObject({ available: true });
    await src.close?.();
    expect((await src.fetch(await staging())).artifactSha256).toBe(sha(v1));
    expect(server.requests.filter((r) => r.path === "/app.tar.gz")).toHaveLength(2);
  });

  it("a check-only source (readOnly) keeps its answer for the fetch that reads the release: one request", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"etag-v1"' });
    const src = createSource(
      "web",
      HttpSourceConfig.parse({
        type: "https",
        app_dir: "/opt/app",
        url: `${server.url}/app.tar.gz`,
        ca_file: cert.caFile,
      }),
      { ...ctx, readOnly: true },
    );
    expect(await src.check()).toMatchObject({ available: true });
    expect((await src.fetch(await staging())).artifactSha256).toBe(sha(v1));
    expect(server.requests.filter((r) => r.path === "/app.tar.gz")).toHaveLength(1);
  });

  it("a release over max_download_mb or a file over max_file_size_mb: the refusal names the key, in MB", async () => {
    const v1 = releaseArchive("1.0.0", [
      { path: "myapp-1.0.0/big.bin", body: randomBytes(225 * 1024).toString("base64") },
    ]);
    routes.set("/app.tar.gz", { body: v1 });
    await expect(source({ max_download_mb: 0.1 }).fetch(await staging())).rejects.toThrow(
      /app\.tar\.gz: size 0\.\d\d MB is over \[sources\.web\] max_download_mb = 0\.1$/,
    );
    await expect(source({ security: { max_file_size_mb: 0.25 } }).fetch(await staging())).rejects.toThrow(
      'app.tar.gz: entry "myapp-1.0.0/big.bin": 0.29 MB is over [sources.web.security] max_file_size_mb = 0.25',
    );
  });

  it("a checksum file whose only line names another file: a mismatch says so; a match installs; --tag lines read", async () => {
    const v2 = releaseArchive("2.0.0");
    // Left from 1.0.0: `sha256sum myapp-1.0.0.tar.gz > app.tar.gz.sha256`, never redone for 2.0.0.
    routes.set("/app.tar.gz", { body: v2 });
    routes.set("/app.tar.gz.sha256", {
      body: Buffer.from(`${sha(releaseArchive("1.0.0"))}  myapp-1.0.0.tar.gz\n`),
    });
    const checksum = `${server.url}/app.tar.gz.sha256`;
    const err = await source({ checksum })
      .fetch(await staging())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /checksum mismatch: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64} /,
    );
    expect((err as Error).message).toContain(
      `(the checksum file ${checksum} has one line, for myapp-1.0.0.tar.gz, not app.tar.gz: one left from another release, or made for another file?)`,
    );
    // The seed's way: the archive made as myapp-2.0.0.tar.gz, served under another name.
    routes.set("/app.tar.gz.sha256", { body: Buffer.from(`${sha(v2)}  myapp-2.0.0.tar.gz\n`) });
    await expect(source({ checksum }).fetch(await staging())).resolves.toMatchObject({
      artifactSha256: sha(v2),
    });
    // `sha256sum --tag` (and BSD sha256) lines.
    routes.set("/app.tar.gz.sha256", {
      body: Buffer.from(`SHA256 (other.tar.gz) = ${"0".repeat(64)}\nSHA256 (app.tar.gz) = ${sha(v2)}\n`),
    });
    await expect(source({ checksum }).fetch(await staging())).resolves.toMatchObject({
      artifactSha256: sha(v2),
    });
  });

  // `sha256sum *` over a release directory where a name holds a backslash or a line break starts
  // that line with a backslash and escapes the name (GNU's rule); a digest saved as "sha256:<hex>"
  // is ship.toml's own inline form. Each was "not a sha256sum line", refusing the whole file.
  it("checksum files as other tools write them: GNU's escaped names, sha256:<hex>", async () => {
    const v2 = releaseArchive("2.0.0");
    routes.set("/app.tar.gz", { body: v2 });
    const checksum = `${server.url}/app.tar.gz.sha256`;
    routes.set("/app.tar.gz.sha256", {
      body: Buffer.from(`\\${"0".repeat(64)}  notes\\\\win.txt\n${sha(v2)}  app.tar.gz\n`),
    });
    await expect(source({ checksum }).fetch(await staging())).resolves.toMatchObject({
      artifactSha256: sha(v2),
    });
    routes.set("/app.tar.gz.sha256", { body: Buffer.from(`sha256:${sha(v2).toUpperCase()}\n`) });
    await expect(source({ checksum }).fetch(await staging())).resolves.toMatchObject({
      artifactSha256: sha(v2),
    });
    // A backslash is read as one; a line break stays written as \n in the one-line refusal.
    routes.set("/app.tar.gz.sha256", {
      body: Buffer.from(`\\${"0".repeat(64)}  notes\\\\win.txt\n\\${"1".repeat(64)}  two\\nlines.txt\n`),
    });
    await expect(source({ checksum }).fetch(await staging())).rejects.toThrow(
      "no sha256 for app.tar.gz in the checksum file; it lists notes\\win.txt, two\\nlines.txt",
    );
  });

  // A release served under a name that is not its own (a GitHub asset URL ending in its id) and a
  // SHA256SUMS of several files: "no sha256 for 123" named neither what the file lists nor the
  // seed's `filename` key, which says the release's name there.
  it("a checksum file with no line for the URL's name lists its names and points to filename, which fixes it", async () => {
    const v2 = releaseArchive("2.0.0");
    routes.set("/assets/123", { body: v2 });
    routes.set("/SHA256SUMS", {
      body: Buffer.from(`${"0".repeat(64)}  myapp-1.9.0.tar.gz\n${sha(v2)}  myapp-2.0.0.tar.gz\n`),
    });
    const config = { url: `${server.url}/assets/123`, checksum: `${server.url}/SHA256SUMS` };
    const err = await source(config)
      .fetch(await staging())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      `${server.url}/SHA256SUMS: no sha256 for 123 in the checksum file; it lists myapp-1.9.0.tar.gz, myapp-2.0.0.tar.gz; set filename in [sources.web] to the name the release has there`,
    );
    await expect(
      source({ ...config, filename: "myapp-2.0.0.tar.gz" }).fetch(await staging()),
    ).resolves.toMatchObject({ artifactSha256: sha(v2) });
  });

  // A login page served with 200 where the .sha256 should be: it read "not a sha256sum line:
  // <!DOCTYPE html>…", as if the file were garbled.
  it("a checksum URL that answers with an HTML page says it is a page", async () => {
    routes.set("/app.tar.gz", { body: releaseArchive("1.0.0") });
    routes.set("/app.tar.gz.sha256", { body: "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n" });
    const checksum = `${server.url}/app.tar.gz.sha256`;
    const err = await source({ checksum })
      .fetch(await staging())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      `${checksum}: is an HTML or XML page (a login or error page?), not a sha256sum file`,
    );
  });

  it("a wrong checksum is refused before anything is handed on: staging and downloads are left empty", async () => {
    routes.set("/app.tar.gz", { body: releaseArchive("1.0.0"), etag: '"e"' });
    const src = source({ checksum: `sha256:${"0".repeat(64)}` });
    const stage = await staging();
    const err = await src.fetch(stage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/checksum mismatch/);
    expect(await readdir(stage)).toEqual([]);
    expect(await readdir(join(ctx.stateDir, "downloads"))).toEqual([]);
    await expect(stat(join(ctx.stateDir, "sources", "web.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("verifies against a .sha256 file URL", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"e"' });
    routes.set("/app.tar.gz.sha256", { body: `${sha(v1)}  app.tar.gz\n` });
    const stage = await staging();
    await source({ checksum: `${server.url}/app.tar.gz.sha256` }).fetch(stage);
    expect(await readdir(stage)).toContain("app.txt");

    routes.set("/app.tar.gz.sha256", { body: `${"1".repeat(64)}  app.tar.gz\n` });
    const stage2 = await staging();
    await expect(
      source({ checksum: `${server.url}/app.tar.gz.sha256` }).fetch(stage2),
    ).rejects.toBeInstanceOf(VerificationError);
    expect(await readdir(stage2)).toEqual([]);
  });

  it("survives a connection cut halfway by resuming with Range", async () => {
    const v1 = releaseArchive("1.0.0");
    routes.set("/app.tar.gz", { body: v1, etag: '"e1"', cutTimes: 1 });
    const stage = await staging();
    const release = await source({ checksum: `sha256:${sha(v1)}` }).fetch(stage);
    expect(release.artifactSha256).toBe(sha(v1));
    // The request for app.tar.gz.sig beside it is not part of the download.
    const downloads = server.requests.filter((r) => r.path === "/app.tar.gz");
    expect(downloads.map((r) => r.headers.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
  });

  it("a hostile archive is refused with exit 2 and leaves staging empty", async () => {
    routes.set("/app.tar.gz", { body: gzipSync(buildTar([{ path: "../../etc/cron.d/evil", body: "x" }])) });
    const stage = await staging();
    const err = await source()
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect(await readdir(stage)).toEqual([]);
  });

  it("metadata_file may be shared by several sources", async () => {
    routes.set("/app.tar.gz", { body: releaseArchive("1.0.0"), etag: '"e"' });
    const shared = join(tmp, "shared-meta", "http_metadata.json");
    await mkdir(join(tmp, "shared-meta"), { recursive: true });
    const src = source({ metadata_file: shared });
    const release = await src.fetch(await staging());
    await src.commit(release);
    const json = JSON.parse(await readFile(shared, "utf8"));
    expect(json.sources.web).toMatchObject({ etag: '"e"', version: "1.0.0" });
  });

  it('type = "https" refuses a plain http:// URL', async () => {
    const cfg = HttpSourceConfig.parse({
      type: "https",
      app_dir: "/opt/app",
      url: "http://example.com/a.tgz",
    });
    await expect(openSource("web", cfg, ctx)).rejects.toThrow(BadInputError);
    // The lazily opened source reports the same refusal at its first use.
    await expect(createSource("web", cfg, ctx).check()).rejects.toThrow(BadInputError);
  });
});
