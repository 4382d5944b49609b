/**
 * The quick operator commands load only what they run (issue 11: start-up within 2× `node -e 0`).
 * Not a timing test: the built CLI runs with a module tracer preloaded, every module file it loads
 * is listed, and each bundle chunk stands for the sources its source map names. A heavy library
 * coming back onto `--help`, `--list-backups` or `--rollback` fails here (pino, the logger, belongs
 * on `--rollback`, from the bundle), wherever it comes from.
 * `--list-backups` and `--rollback` normally run the code-cached CommonJS bundle (one file, not a
 * module graph); with `--verbose` they run the ES module chunks, whose graph is checked here.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";

const TRACER = fileURLToPath(new URL("../../support/module-trace.mjs", import.meta.url));

/** Every source file behind the modules `ship ARGS` loaded: node_modules paths and our .ts files. */
async function sourcesLoaded(
  root: string,
  args: string[],
): Promise<{ code: number | null; files: string[]; sources: string[] }> {
  const trace = join(root, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, ["--import", TRACER, SHIP_BIN, ...args], {
      env: { ...process.env, SHIP_MODULE_TRACE: trace },
      stdio: "ignore",
    });
    child.on("error", fail);
    child.on("close", done);
  });
  const files = [...new Set((await readFile(trace, "utf8")).split("\n").filter((l) => l !== ""))];
  const sources: string[] = [];
  for (const file of files) {
    sources.push(file);
    // A bundle chunk: the sources it was built from, as its map names them.
    if (file.endsWith(".js") && existsSync(`${file}.map`)) {
      const map = JSON.parse(await readFile(`${file}.map`, "utf8")) as { sources: string[] };
      for (const source of map.sources) sources.push(resolve(dirname(file), source));
    }
  }
  return { code, files, sources };
}

const libraries = (sources: string[]) =>
  new Set(
    sources.flatMap((s) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s);
      return match?.[1] === undefined ? [] : [match[1]];
    }),
  );

/** A bundle file other than the bin's cache loader (bundle/code-cache.cjs, which the bin requires). */
const inBundle = (f: string) =>
  f.startsWith(join(dirname(SHIP_BIN), "bundle")) && !f.endsWith("/bundle/code-cache.cjs");

/** Module files loaded straight from node_modules/<lib> (not through a bundle chunk). */
const filesFrom = (files: string[], lib: string) =>
  files.filter((f) => f.includes(`/node_modules/${lib}/`)).length;

const NETWORK_AND_SOURCES = ["undici", "ssh2", "ssh2-sftp-client", "simple-git", "tar", "ws"];

let root: string;
let config: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-start-up-"));
  config = join(root, "ship.toml");
  const release = join(root, "release");
  await mkdir(release);
  await mkdir(join(root, "app"));
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.app]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app"\n`,
  );
  for (const version of ["1.0.0", "2.0.0"]) {
    await writeFile(join(release, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(release, "app.txt"), `${version}\n`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(0);
  }
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("what the quick commands load (built CLI)", () => {
  it("ship --help: commander and the entry, no schema, logging, network or source library", async () => {
    const { code, sources } = await sourcesLoaded(root, ["--help"]);
    expect(code).toBe(0);
    const libs = libraries(sources);
    for (const lib of ["zod", "pino", "minimatch", "yaml", "smol-toml", ...NETWORK_AND_SOURCES])
      expect(libs, lib).not.toContain(lib);
  });

  it("ship --list-backups: config validation (bundled zod) and the backup list, no logger or planner", async () => {
    const { code, files, sources } = await sourcesLoaded(root, ["--config", config, "--list-backups", "-v"]);
    expect(code).toBe(0);
    const libs = libraries(sources);
    for (const lib of ["pino", "minimatch", "yaml", ...NETWORK_AND_SOURCES])
      expect(libs, lib).not.toContain(lib);
    // zod validates the config, from the bundle: not ~240 files read, resolved and linked one by one.
    expect(libs).toContain("zod");
    expect(filesFrom(files, "zod")).toBe(0);
    expect(
      sources.filter((s) => /agent\/(apply\/plan|sources\/|pipeline\/run-(once|source|app-update))/.test(s)),
    ).toEqual([]);
  });

  it("ship --rollback ID: restore, hooks, state and pino (bundled), no planner, source or network library", async () => {
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const rollback = ["--config", config, "--rollback", backup?.id ?? "", "--verbose"];
    const { code, files, sources } = await sourcesLoaded(root, rollback);
    expect(code).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
    const libs = libraries(sources);
    for (const lib of ["minimatch", "yaml", ...NETWORK_AND_SOURCES]) expect(libs, lib).not.toContain(lib);
    // The logger is pino, from the bundle (it and sonic-boom), not read module by module.
    expect(libs).toContain("pino");
    for (const lib of ["zod", "pino", "sonic-boom"]) expect(filesFrom(files, lib), lib).toBe(0);
    expect(
      sources.filter((s) =>
        /agent\/(apply\/plan|sources\/(?!metadata)|pipeline\/run-(once|source|app-update))/.test(s),
      ),
    ).toEqual([]);
  });

  it("without --verbose both run the code-cached bundle: one file, made once and then used as it is", async () => {
    const bundleDir = join(dirname(SHIP_BIN), "bundle");
    const listing = ["--config", config, "--list-backups"];
    const { code, files } = await sourcesLoaded(root, listing);
    expect(code).toBe(0);
    // The bin and the cache loader; the bundle itself is compiled from its code cache, not imported.
    expect(files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
    const cacheName = (await readdir(bundleDir)).find((f) => f.endsWith(".cjs.list-backups.v8cache"));
    expect(cacheName).toBeDefined();
    const cache = join(bundleDir, cacheName ?? "");
    // Used, not rewritten (a refused or mismatched cache is written anew after the run). Other test
    // files run ship at the same time; one of them may have started before the cache existed.
    let unchanged = false;
    for (let attempt = 0; attempt < 3 && !unchanged; attempt++) {
      const before = await stat(cache, { bigint: true });
      expect((await runShip(listing)).code).toBe(0);
      const after = await stat(cache, { bigint: true });
      unchanged = before.ino === after.ino && before.mtimeNs === after.mtimeNs;
    }
    expect(unchanged).toBe(true);
    // --rollback too: its logger (pino) comes with the cached bundle, nothing from node_modules.
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string }[])[0];
    const rollback = await sourcesLoaded(root, ["--config", config, "--rollback", backup?.id ?? ""]);
    expect(rollback.code).toBe(0);
    expect(rollback.files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
  });

  it("an update run (what the timer runs) uses the code-cached bundle too; --verbose keeps the ES module chunks", async () => {
    const bundleDir = join(dirname(SHIP_BIN), "bundle");
    const run = ["--config", config, "--force"];
    const { code, files } = await sourcesLoaded(root, run);
    expect(code).toBe(0);
    // No ES module chunk and nothing from node_modules for a local source: the one cached bundle.
    expect(files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
    expect((await readdir(bundleDir)).some((f) => f.endsWith(".cjs.run.v8cache"))).toBe(true);
    // --verbose keeps the ES module chunks (with source maps), as `ship agent` does.
    const verbose = await sourcesLoaded(root, [...run, "--verbose"]);
    expect(verbose.code).toBe(0);
    expect(verbose.files.some((f) => f.startsWith(bundleDir) && f.endsWith(".js"))).toBe(true);
  });
});
