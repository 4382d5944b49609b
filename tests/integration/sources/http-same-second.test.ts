/**
 * An http(s) check is a conditional GET with the ETag / Last-Modified the installed release came
 * with. Last-Modified has whole seconds, and nginx's ETag is mtime-size: a release rebuilt with the
 * same size in the second the last run downloaded it keeps both, the server answers 304, and the
 * run said "up to date" over the old release. The racy rule (git's): validators whose
 * Last-Modified is not older than the answer's Date by more than the clock's granularity are not
 * kept; a weak ETag with no Last-Modified to judge it by neither. Run as an operator would: the
 * built CLI against a real HTTP server.
 */

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import { HttpSource } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

/** The second `now` falls in, as an HTTP date. */
const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();

describe("http: a same-size release in the same second is not missed", () => {
  let root: string;
  let server: TestServer;
  const routes = new Map<string, FileRoute>();
  /** Answers with Last-Modified = the second of the answer (a file written as it is served). */
  let modifiedNow = false;
  /** Answers without a Date header (ship's own clock then judges Last-Modified). */
  let noDate = false;
  let config: string;
  let dir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-http-racy-"));
    const files = fileRoutes(routes);
    server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const route = routes.get(req.url ?? "");
      if (modifiedNow && route !== undefined) route.lastModified = httpDate(Date.now());
      res.sendDate = !noDate;
      files(req, res);
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(root, "host-"));
    await mkdir(join(dir, "app"));
    config = join(dir, "ship.toml");
    await configure("");
    routes.clear();
    server.requests.length = 0;
    modifiedNow = false;
    noDate = false;
  });

  /** ship.toml with one http source, and `extra` lines in its table. */
  const configure = (extra: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${server.url}/app.tar"\napp_dir = "${dir}/app"\n${extra}`,
    );
  const ship = (...args: string[]) => runShip(["--config", config, ...args]);
  const installed = async () => readFile(join(config, "../app/app.txt"), "utf8");
  const publish = (version: string, validators: Omit<FileRoute, "body">) =>
    routes.set("/app.tar", { body: appRelease(version), ...validators });

  it("nginx's mtime-size ETag and a Last-Modified of the answer's own second are not kept", async () => {
    modifiedNow = true;
    publish("1.0.1", { etag: '"6751c0de-2800"' });
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.1\n");

    // Rebuilt in that second: same size, so the same ETag and Last-Modified.
    publish("1.0.2", { etag: '"6751c0de-2800"' });
    const check = await ship("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.2\n");
  }, 120_000);

  it("a Last-Modified ahead of the answer's Date (the file's clock ahead) is not kept either", async () => {
    const ahead = httpDate(Date.now() + 60_000);
    publish("1.0.1", { etag: 'W/"2800-ahead"', lastModified: ahead });
    expect((await ship()).code).toBe(0);
    publish("1.0.2", { etag: 'W/"2800-ahead"', lastModified: ahead });
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.2\n");
  }, 120_000);

  it("a weak ETag with no Last-Modified to judge it by is not kept", async () => {
    publish("1.0.1", { etag: 'W/"2800-1733400000000"' });
    expect((await ship()).code).toBe(0);
    publish("1.0.2", { etag: 'W/"2800-1733400000000"' });
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.2\n");
  }, 120_000);

  it("settled validators (Last-Modified older than a few seconds) still make a check one 304", async () => {
    const settled = { etag: '"5f1e2d3c-2800"', lastModified: httpDate(Date.now() - 3_600_000) };
    publish("1.0.1", settled);
    expect((await ship()).code).toBe(0);
    server.requests.length = 0;
    const check = await ship();
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("web: up to date (1.0.1)");
    expect(server.requests.map((r) => [r.path, r.headers["if-none-match"]])).toEqual([
      ["/app.tar", settled.etag],
    ]);
  }, 120_000);

  it("with no validators kept, a checksum URL decides in one small request instead of a download", async () => {
    await configure(`checksum = "${server.url}/app.tar.sha256"\n`);
    const publishSummed = (version: string) => {
      const body = appRelease(version);
      routes.set("/app.tar", { body, etag: 'W/"2800-1733400000000"' });
      const sum = createHash("sha256").update(body).digest("hex");
      routes.set("/app.tar.sha256", { body: `${sum}  app.tar\n` });
    };
    publishSummed("1.0.1");
    expect((await ship()).code).toBe(0);
    server.requests.length = 0;
    const idle = await ship();
    expect(idle.code, idle.stdout + idle.stderr).toBe(0);
    expect(idle.stdout).toContain("web: up to date (1.0.1)");
    expect(server.requests.map((r) => r.path)).toEqual(["/app.tar.sha256"]);

    publishSummed("1.0.2");
    server.requests.length = 0;
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.2\n");
    expect(server.requests.map((r) => r.path)).toEqual(["/app.tar.sha256", "/app.tar"]);
  }, 120_000);

  it("validators our clock judged (no Date) by a run whose clock was ahead are not trusted later", async () => {
    noDate = true;
    const validators = { etag: '"6751c0de-2800"', lastModified: httpDate(Date.now()) };
    publish("1.0.1", validators);
    const source = () =>
      createSource(
        "web",
        HttpSource.parse({ type: "http", app_dir: join(dir, "app"), url: `${server.url}/app.tar` }),
        { stateDir: join(dir, "state"), log: memoryLogger([]), retryDelayMs: 0 },
      );
    const ahead = Date.now() + 3_600_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => ahead);
    try {
      const src = source();
      await src.check();
      await src.commit(await src.fetch(await mkdtemp(join(dir, "stage-"))));
    } finally {
      clock.mockRestore();
    }
    publish("1.0.2", validators);
    const src = source();
    expect(await src.check()).toMatchObject({ available: true });
    const stage = await mkdtemp(join(dir, "stage-"));
    await src.fetch(stage);
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("app 1.0.2\n");
  });
});
