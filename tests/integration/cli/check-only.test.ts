/**
 * `ship --check-only` changes nothing on disk: on a host that never ran ship it used to create the
 * state file's directory (locks, source caches) and work_dir. A check that cannot reach its source
 * exits 1 (a failure; nothing was changed), never 100 or 0.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/servers/free-port.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

// Up to two CLI runs a test: one took 68 s at load 45, past the 60 s default.
describe("ship --check-only (real CLI)", { timeout: 180_000 }, () => {
  let app: LocalApp;
  let tmp: string;
  beforeEach(async () => {
    app = await localApp('\n[general.logging]\nlevel = "ERROR"\n');
    // A private TMPDIR: the check's scratch directory must be gone when it exits.
    tmp = await mkdtemp(join(tmpdir(), "ship-check-tmp-"));
  });
  /** Points the source at an http URL on `port`, where nothing listens. */
  const useUnreachableHttpSource = async (port: number) => {
    const config = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      config.replace(
        /\[sources\.myapp\][\s\S]*$/,
        `[sources.myapp]\ntype = "http"\nurl = "http://127.0.0.1:${port}/app.tar.gz"\napp_dir = "${app.appDir}"\nretries = 0\n`,
      ),
    );
  };
  afterEach(async () => {
    await app.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  it("finds the update (exit 100) and creates neither the state dir nor work_dir", async () => {
    await app.release("r2", 'version: "2.0.0"\n');
    const workDir = join(app.root, "work");
    const config = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      config.replace("min_interval_hours = 0", `min_interval_hours = 0\nwork_dir = "${workDir}"`),
    );
    const run = await runShip(["--config", app.config, "--check-only"], { env: { TMPDIR: tmp } });
    expect(run.code, run.stderr).toBe(100);
    expect(run.stdout).toMatch(/^update +myapp: update available/m);
    expect((await readdir(app.root)).sort()).toEqual(["app", "r2", "ship.toml"]);
    expect(await readdir(app.appDir)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("creates neither a [general.logging] file that is not there nor its directory, and logs to stderr instead", async () => {
    const logged = await localApp(`\n[general.logging]\nfile = "${tmp}/logs/ship.log"\n`);
    try {
      await logged.release("r2", 'version: "2.0.0"\n');
      const run = await runShip(["--config", logged.config, "--check-only"]);
      expect(run.code, run.stderr).toBe(100);
      expect(await readdir(tmp)).toEqual([]);
      expect(run.stderr).toContain('"msg":"myapp: update available');
      // A log file that is there is the operator's log: the check is written to it.
      await mkdir(join(tmp, "logs"));
      await writeFile(join(tmp, "logs/ship.log"), "");
      expect((await runShip(["--config", logged.config, "--check-only"])).code).toBe(100);
      expect(await readFile(join(tmp, "logs/ship.log"), "utf8")).toContain("myapp: update available");
    } finally {
      await logged.cleanup();
    }
  });

  it("a config with no source to check says so (it printed nothing, exit 0)", async () => {
    await app.release("r2", 'version: "2.0.0"\n');
    const config = await readFile(app.config, "utf8");
    await writeFile(app.config, config.replace("[sources.myapp]", "[sources.myapp]\nenabled = false"));
    const run = await runShip(["--config", app.config, "--check-only"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("no sources to run (every one is disabled or hub-only)");
  });

  it("a source that cannot be checked is exit 1 with nothing created", async () => {
    const port = await freePort();
    await app.release("r2", 'version: "2.0.0"\n');
    await useUnreachableHttpSource(port);
    const run = await runShip(["--config", app.config, "--check-only"], { env: { TMPDIR: tmp } });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^failed +myapp: .*ECONNREFUSED/m);
    expect((await readdir(app.root)).sort()).toEqual(["app", "r2", "ship.toml"]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("with the state dir present, the check still creates nothing in it (no state file, no locks/, work/ or sources/)", async () => {
    await app.release("r2", 'version: "2.0.0"\n');
    await mkdir(join(app.root, "var"));
    const run = await runShip(["--config", app.config, "--check-only"], { env: { TMPDIR: tmp } });
    expect(run.code, run.stderr).toBe(100);
    expect(await readdir(join(app.root, "var"))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);

    // An http source keeps a metadata record under sources/NAME/: a check creates none either.
    const port = await freePort();
    await useUnreachableHttpSource(port);
    const http = await runShip(["--config", app.config, "--check-only"], { env: { TMPDIR: tmp } });
    expect(http.code, http.stderr).toBe(1);
    expect(await readdir(join(app.root, "var"))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("after an update, a check of a changed local release leaves every file under the state dir as it was (the stat index too)", async () => {
    await app.release("r1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const release = await app.release("r2", 'version: "2.0.0"\n');
    await writeFile(join(release, "new.txt"), "new\n");
    const before = await snapshotTree(join(app.root, "var"));
    expect([...before.keys()].some((rel) => rel.endsWith("stat-index"))).toBe(true);
    const run = await runShip(["--config", app.config, "--check-only"]);
    expect(run.code, run.stderr).toBe(100);
    expect(await snapshotTree(join(app.root, "var"))).toEqual(before);
  });
});

/** Every file below `dir` (relative path → bytes), lock files included. */
async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path.slice(dir.length + 1), await readFile(path, "base64"));
  }
  return out;
}
