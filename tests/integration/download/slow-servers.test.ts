/**
 * Servers that are slow on purpose. `timeout_seconds` measures only silence, so one that sent a
 * byte a second held the download, the run and its lock for ever (SIGTERM waited on it too);
 * `max_download_seconds` now ends it, exit 1, app untouched. A 429 / 503 with Retry-After was
 * asked again after the backoff (1, 2, 4 s) whatever it said; the wait it asks for is now kept
 * (and said: the check's wait was silent), and one longer than ship waits within a run ends the run at once, saying so. Real HTTP servers,
 * real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const release = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
    { path: "app.txt", body: "2.0.0\n" },
  ]),
);

describe("http servers that are slow on purpose", () => {
  let root: string;
  let server: TestServer;
  /** When each request for the archive arrived (ms). */
  let times: number[];
  let answer: (res: ServerResponse, nth: number) => void;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-slow-server-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    times = [];
    server = await startHttpServer((req, res) => {
      if (req.url !== "/app.tar.gz") return void res.writeHead(404).end();
      times.push(Date.now());
      answer(res, times.length);
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  const run = async (extra: string) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${root}/app"\n${extra}`,
    );
    return runShip(["--config", join(root, "ship.toml")], { timeoutMs: 40_000 });
  };

  it("a server that trickles a byte a second is given up after max_download_seconds, exit 1, app kept", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-length": String(release.length), etag: '"t"' });
      let sent = 0;
      const tick = setInterval(() => {
        if (sent < release.length) res.write(release.subarray(sent, ++sent));
      }, 500);
      res.on("close", () => clearInterval(tick));
    };
    const started = Date.now();
    const result = await run("timeout_seconds = 2\nmax_download_seconds = 2\n");
    const took = Date.now() - started;
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(took).toBeLessThan(15_000);
    expect(result.stdout).toMatch(
      /not done after 2 s, the most \[sources\.web\] max_download_seconds allows \(\d+ of \d+ bytes arrived\)/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
    // The lock went with the run: the next one starts (and is given up the same way), not exit 75.
    expect((await run("timeout_seconds = 2\nmax_download_seconds = 2\n")).code).toBe(1);
  });

  // A silent server ended each attempt after timeout_seconds and the retries added their waits:
  // `timeout_seconds = 3` took 27 s, and the line said only "no answer in time".
  it("a server that never answers is given up saying the seconds, the key and the attempts", async () => {
    answer = () => undefined;
    const result = await run("timeout_seconds = 1\nretries = 1\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /download of \S+ failed: no answer within 1 s \(\[sources\.web\] timeout_seconds\) \(UND_ERR_HEADERS_TIMEOUT\); gave up after 2 attempts in [\d.]+ s \(\[sources\.web\] retries = 1\)\n/,
    );
    expect(times).toHaveLength(2);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  it("a body that stops coming is given up saying the seconds, the key and the attempts", async () => {
    // Headers at once (the check passes), then not a byte of the body.
    answer = (res) => {
      res.writeHead(200, { "content-length": String(release.length), etag: '"s"' });
      res.flushHeaders();
    };
    const result = await run("timeout_seconds = 1\nretries = 1\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /download of \S+ failed: the download stalled: nothing arrived within 1 s \(\[sources\.web\] timeout_seconds\) \(UND_ERR_BODY_TIMEOUT\); gave up after 2 attempts in [\d.]+ s \(\[sources\.web\] retries = 1\); the app's files were not changed\n/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  // Attempts that got more of the file are not counted against retries: "3 attempts (retries = 1)"
  // read as a miscount.
  it("a request given up after retries names the attempts it did not count", async () => {
    answer = (res) => {
      // Announces more than it sends, ignores Range: the first attempt gets bytes, the next none new.
      res.writeHead(200, { "content-length": String(release.length + 100) });
      res.write(release);
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const result = await run("retries = 1\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /; gave up after 3 attempts in [\d.]+ s \(\[sources\.web\] retries = 1, not counting 1 that got more of the file\)/,
    );
    expect(times).toHaveLength(3);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  it("a 503 with Retry-After is asked again only after the wait it asks for", async () => {
    answer = (res, nth) => {
      if (nth === 1) return void res.writeHead(503, { "retry-after": "3" }).end("busy");
      res.writeHead(200, { "content-length": String(release.length), etag: '"r"' }).end(release);
    };
    const result = await run("");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("2.0.0\n");
    // The probe met the 503; the next request came after the 3 s asked, not after the 1 s backoff.
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(2_900);
    // The wait is said while it runs (up to 300 s), not spent in silence.
    expect(result.stderr).toMatch(
      /"level":40,.*"reason":"HTTP 503".*"msg":"request failed; retrying in 3 s"/,
    );
  });

  it("a 429 asking for longer than ship waits ends the run at once, saying so", async () => {
    answer = (res) => void res.writeHead(429, { "retry-after": "3600" }).end("slow down");
    const result = await run("retries = 3\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toContain(
      "HTTP 429; the server asks to try again in 3600 s (Retry-After), longer than ship waits within a run (300 s): the next run tries again",
    );
    // Asked once: not three more times within the hour it asked to be left alone.
    expect(times).toHaveLength(1);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  // Not slow, but a server (or a cache before it) answering for a file it was not asked about:
  // the download took the 304 for "not modified" and the run ended on the internal
  // "unconditional download answered 304", naming no URL.
  // The check's answer is the download's first response (one request per update): it is cut before
  // its body here, so the download asks again, unconditionally, and gets the 304.
  it("a 304 to the download, which named no version of the file, is a failure naming the url", async () => {
    answer = (res, nth) => {
      if (nth === 1) {
        res.writeHead(200, { "content-length": "100", etag: '"a"' });
        res.flushHeaders();
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      res.writeHead(304, { etag: '"a"' }).end();
    };
    const result = await run("");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toContain(
      `web: update failed at fetch: download of ${server.url}/app.tar.gz failed: HTTP 304 Not Modified to a request that asked for the whole file`,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });
});
