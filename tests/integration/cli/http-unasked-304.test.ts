/**
 * A 304 Not Modified to a request that sent no validator (a cache or proxy in the way answering for
 * every request) is no answer. Before, the http source's first request took it for "not modified":
 * a first install said "myapp: up to date (undefined)", exit 0, and installed nothing, every run;
 * so did a run whose url changed (the old record is not asked with). Now it fails as the download
 * already did: exit 1 naming the URL and the 304, nothing installed.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";

let root: string;
let server: TestServer;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-304-"));
  await mkdir(join(root, "app"));
  server = await startHttpServer((_req, res) => {
    res.statusCode = 304;
    res.end();
  });
  await writeFile(
    join(root, "ship.toml"),
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "http"\nurl = "${server.url}/myapp.tar.gz"\napp_dir = "${root}/app"\n`,
  );
});
afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("an http source answered 304 to a request without validators (real server, real CLI)", () => {
  it("a first run fails naming the 304, installs nothing, and says no 'up to date'", async () => {
    const run = await runShip(["--config", join(root, "ship.toml")]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const said = run.stdout + run.stderr;
    expect(said).toContain("HTTP 304 Not Modified to a request that asked for the whole file");
    expect(said).toContain(`${server.url}/myapp.tar.gz`);
    expect(said).not.toContain("up to date");
    expect(said).not.toContain("undefined");
    expect(server.requests[0]?.headers["if-none-match"]).toBeUndefined();
    expect(await readdir(join(root, "app"))).toEqual([]);
    const state = JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));
    // Nothing installed; the failed check is recorded (source-check-last-error.test.ts).
    expect(state.sources.myapp?.current_version ?? null).toBeNull();
    expect(state.sources.myapp?.last_error).toContain("HTTP 304 Not Modified");
  });

  it("--check-only says the check failed, not up to date", async () => {
    const run = await runShip(["--config", join(root, "ship.toml"), "--check-only"]);
    const said = run.stdout + run.stderr;
    expect(said).toContain("304");
    expect(said).not.toContain("up to date");
    expect(said).not.toContain("undefined");
    expect(run.code).not.toBe(0);
  });
});
