import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import type { SourceContext } from "../../../agent/sources/types.js";
import { HttpSource as HttpSourceConfig } from "../../../shared/config/schema.js";
import { VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { type Handler, startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Random (incompressible) contents, so byte offsets in the .tar.gz follow the entries. */
const first = randomBytes(200_000).toString("base64");
const second = randomBytes(1_500_000).toString("base64");
const archive = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
    { path: "first.bin", body: first },
    { path: "second.bin", body: second },
  ]),
);

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

describe("http(s) archives are extracted while they download", () => {
  let tmp: string;
  let server: TestServer;
  let handler: Handler;
  const routes = new Map<string, FileRoute>();
  let lines: { level: string; msg: string; data?: Record<string, unknown> }[];
  let ctx: SourceContext;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-stream-extract-"));
    server = await startHttpServer((req, res) => handler(req, res));
  });
  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    routes.clear();
    handler = fileRoutes(routes);
    lines = [];
    ctx = { stateDir: await mkdtemp(join(tmp, "state-")), log: memoryLogger(lines), retryDelayMs: 0 };
  });

  const source = (extra: Record<string, unknown> = {}) =>
    createSource(
      "web",
      HttpSourceConfig.parse({
        type: "http",
        app_dir: "/opt/app",
        url: `${server.url}/app.tar.gz`,
        ...extra,
      }),
      ctx,
    );

  it("writes an entry into staging before the rest of the archive has arrived", async () => {
    const stage = await mkdtemp(join(tmp, "stage-"));
    let sawFirstEarly = false;
    handler = (req, res) => {
      if (req.url !== "/app.tar.gz") return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": String(archive.length), etag: '"s1"' });
      // first.bin ends well inside the first 1.2 MB; the rest is held back until staging has it
      // (or 30 s passed: a download-then-extract would only write it after the whole body). The
      // wait ends when first.bin is whole; 5 s for it (gunzip and write 270 KB) was within reach
      // of a loaded machine's slow disk, and the source's own idle limit is 60 s.
      const split = 1_200_000;
      res.write(archive.subarray(0, split), async () => {
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          if ((await sizeOf(join(stage, "first.bin"))) === first.length) {
            sawFirstEarly = true;
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        res.end(archive.subarray(split));
      });
    };
    const release = await source({ checksum: `sha256:${sha(archive)}` }).fetch(stage);
    expect(sawFirstEarly).toBe(true);
    expect(release.artifactSha256).toBe(sha(archive));
    expect(await readFile(join(stage, "second.bin"), "utf8")).toBe(second);
  });

  it("a download that starts over (Range ignored after a cut) is extracted from the complete file", async () => {
    routes.set("/app.tar.gz", { body: archive, etag: '"s2"', cutTimes: 1, honorRange: false });
    const stage = await mkdtemp(join(tmp, "stage-"));
    const release = await source({ checksum: `sha256:${sha(archive)}` }).fetch(stage);
    expect(release.artifactSha256).toBe(sha(archive));
    expect(lines.some((l) => l.msg === "restarting download from the beginning")).toBe(true);
    expect((await readdir(stage)).sort()).toEqual(["first.bin", "second.bin", "update-manifest.yaml"]);
    expect(await readFile(join(stage, "first.bin"), "utf8")).toBe(first);
    expect(await readFile(join(stage, "second.bin"), "utf8")).toBe(second);
  });

  it("a cut halfway resumes into the same extraction", async () => {
    routes.set("/app.tar.gz", { body: archive, etag: '"s3"', cutTimes: 1 });
    const stage = await mkdtemp(join(tmp, "stage-"));
    await source().fetch(stage);
    expect(lines.find((l) => l.msg === "downloaded and extracted release")?.data).toMatchObject({
      resumes: 1,
    });
    expect(lines.some((l) => l.msg === "restarting download from the beginning")).toBe(false);
    expect(await readFile(join(stage, "second.bin"), "utf8")).toBe(second);
  });

  it("bytes that are not even an archive, with a checksum configured, are a checksum mismatch; nothing is left", async () => {
    routes.set("/app.tar.gz", { body: randomBytes(300_000), etag: '"s4"' });
    const stage = await mkdtemp(join(tmp, "stage-"));
    const err = await source({ checksum: `sha256:${sha(archive)}` })
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/checksum mismatch/);
    expect(await readdir(stage)).toEqual([]);
    expect(await readdir(join(ctx.stateDir, "downloads"))).toEqual([]);
  });

  // A 200 with a login page instead of the archive said only "checksum mismatch: expected …, got …"
  // when a checksum was set; without one the same body was named an HTML page.
  it("an HTML page answered 200, with a checksum configured, is a mismatch that says it is a page", async () => {
    routes.set("/app.tar.gz", { body: Buffer.from("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n") });
    const stage = await mkdtemp(join(tmp, "stage-"));
    const err = await source({ checksum: `sha256:${sha(archive)}` })
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /: checksum mismatch: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}: it is an HTML or XML page \(a login, error or listing page\?\), not an archive$/,
    );
    expect(await readdir(stage)).toEqual([]);
    expect(await readdir(join(ctx.stateDir, "downloads"))).toEqual([]);
  });

  it("a hostile archive is refused with or without a checksum; staging and downloads are left empty", async () => {
    const hostile = gzipSync(
      buildTar([
        { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
        { path: "../escape.txt", body: "x" },
        { path: "big.bin", body: second },
      ]),
    );
    for (const checksum of [undefined, `sha256:${sha(hostile)}`]) {
      routes.set("/app.tar.gz", { body: hostile, etag: '"s5"' });
      const stage = await mkdtemp(join(tmp, "stage-"));
      const err = await source(checksum === undefined ? {} : { checksum })
        .fetch(stage)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerificationError);
      expect((err as Error).message).toContain("../escape.txt");
      expect(await readdir(stage)).toEqual([]);
      expect(await readdir(join(ctx.stateDir, "downloads"))).toEqual([]);
    }
  });
});
