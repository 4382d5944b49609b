/**
 * The quick operator commands load only what they run (issue 11: start-up within 2× `node -e 0`).
 * Not a timing test: the built CLI runs with a module tracer preloaded, every module file it loads
 * is listed, and each bundle chunk stands for the sources its source map names. A heavy library
 * coming back onto `--help`, `--list-backups` or `--rollback` fails here (pino, the logger, belongs
 * on `--rollback`, from the bundle), wherever it comes from.
 * `--list-backups` and `--rollback` normally run the code-cached CommonJS restore bundle (one file,
 * not a module graph, holding only what those two commands use); with `--verbose` they run the ES
 * module chunks, whose graph is checked here. The update run, the checks, `--approve`, `--recover`
 * and `ship release` run the whole CLI's code-cached bundle; `ship agent` its own code-cached bundle (agent-code-cache.test.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer } from "../../support/servers/http-server.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, writeGitConfig } from "../sources/git-repos.js";

const TRACER = fileURLToPath(new URL("../../support/module-trace.mjs", import.meta.url));
const BUILTIN_TRACER = fileURLToPath(new URL("../../support/builtin-trace.cjs", import.meta.url));
const POOL_TRACER = fileURLToPath(new URL("../../support/thread-pool-trace.cjs", import.meta.url));
const BUNDLE_DIR = join(dirname(SHIP_BIN), "bundle");

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

/** The Node built-ins `ship ARGS` loaded (preloaded tracer: CommonJS, no loader hooks of its own). */
async function builtinsLoaded(
  root: string,
  args: string[],
): Promise<{ code: number | null; stderr: string; builtins: string[] }> {
  const trace = join(root, `builtins-${Math.random().toString(36).slice(2)}.txt`);
  const run = spawnSync(process.execPath, ["-r", BUILTIN_TRACER, SHIP_BIN, ...args], {
    env: { ...process.env, SHIP_BUILTIN_TRACE: trace },
    encoding: "utf8",
  });
  const builtins = (await readFile(trace, "utf8")).split("\n").filter((l) => l !== "");
  return { code: run.status, stderr: run.stderr, builtins };
}

/**
 * How many file system requests `ship ARGS` sent through libuv's thread pool, and how many child
 * processes it started asynchronously (a preloaded counter).
 */
async function threadPoolRequests(
  root: string,
  args: string[],
): Promise<{ code: number | null; stderr: string; requests: number; asyncChildren: number }> {
  const trace = join(root, `pool-${Math.random().toString(36).slice(2)}.txt`);
  const run = spawnSync(process.execPath, ["-r", POOL_TRACER, SHIP_BIN, ...args], {
    env: { ...process.env, SHIP_POOL_TRACE: trace },
    encoding: "utf8",
  });
  const counts = JSON.parse(await readFile(trace, "utf8")) as { fsRequests: number; asyncChildren: number };
  return {
    code: run.status,
    stderr: run.stderr,
    requests: counts.fsRequests,
    asyncChildren: counts.asyncChildren,
  };
}

/** The restore bundle's file name (bundle/restore-<hash>.cjs). */
async function restoreBundle(): Promise<string> {
  const name = (await readdir(BUNDLE_DIR)).find((f) => /^restore-.*\.cjs$/.test(f));
  expect(name).toBeDefined();
  return join(BUNDLE_DIR, name ?? "");
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

/**
 * The start of a script for a fresh Node with the built modules and the real zod: each zod schema
 * object defines its `_zod` once, counted in `built`. The modules every schema-holding one imports
 * load first, so what a module's own import adds is what its top level builds.
 */
const DIST_APPLY = join(dirname(SHIP_BIN), "../apply");
const ZOD_OBJECTS_COUNTED = `
  let built = 0;
  const define = Object.defineProperty;
  Object.defineProperty = function (target, key, descriptor) {
    if (key === "_zod") built++;
    return define.call(this, target, key, descriptor);
  };
  await import("zod");
  await import(${JSON.stringify(join(DIST_APPLY, "../state/record-file.js"))});
  await import(${JSON.stringify(join(DIST_APPLY, "../tree/fs-ops.js"))});
`;

describe("what the quick commands load (built CLI)", () => {
  it("ship --help: commander and the entry, no schema, logging, network or source library", async () => {
    // --verbose: the ES module chunks, whose graph the source maps name (without it, the cached
    // restore bundle: see below).
    const { code, sources } = await sourcesLoaded(root, ["--help", "--verbose"]);
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

  it("without --verbose both run the code-cached restore bundle: one file, made once and then used as it is", async () => {
    const listing = ["--config", config, "--list-backups"];
    const { code, files } = await sourcesLoaded(root, listing);
    expect(code).toBe(0);
    // The bin and the cache loader; the bundle itself is compiled from its code cache, not imported.
    expect(files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
    const cache = `${await restoreBundle()}.list-backups.v8cache`;
    expect(existsSync(cache)).toBe(true);
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
    expect(existsSync(`${await restoreBundle()}.rollback.v8cache`)).toBe(true);
  });

  it("the restore bundle holds --rollback and --list-backups, not the update pipeline, sources or their libraries", async () => {
    // esbuild names every module it wraps by its path: what is not named here was left out. A
    // package's path is relative to the build's root and leads wherever node_modules is (a symlinked
    // node_modules, as in a git worktree, gives "../../main/node_modules/pino/…"): matched as a path
    // that ends so, or "node_modules/tar/" was absent there whatever the bundle held.
    const bundleText = await readFile(await restoreBundle(), "utf8");
    const text = bundleText.replace(/"(?:\.\.\/)+(?:[^"/]+\/)*node_modules\//g, '"node_modules/');
    for (const present of [
      "agent/backup/restore.ts",
      "agent/cli/commands/list-backups.ts",
      "node_modules/pino/",
    ])
      expect(text.includes(`"${present}`), present).toBe(true);
    for (const absent of [
      "agent/pipeline/run-once.ts",
      "agent/apply/plan.ts",
      "agent/sources/create.ts",
      "agent/sources/local.ts",
      "agent/daemon/",
      "agent/release/cli-actions.ts",
      "node_modules/tar/",
      "node_modules/yaml/",
      "node_modules/minimatch/",
      "node_modules/thread-stream/",
    ])
      expect(text.includes(`"${absent}`), absent).toBe(false);
  });

  it("a mode the restore bundle leaves out fails loudly there, and the bin never sends one to it", async () => {
    // Straight into the bundle, as the bin never does: a left-out mode is an error, not a silent no-op.
    const manifest = join(root, "manifest.yaml");
    await writeFile(manifest, 'version: "1.0.0"\n');
    const direct = spawnSync(
      process.execPath,
      [
        "-e",
        "require(process.argv[1]).runCli([process.argv0, 'ship', '--test-manifest', process.argv[2]]).then((c) => { process.exitCode = c; })",
        await restoreBundle(),
        manifest,
      ],
      { encoding: "utf8" },
    );
    expect(direct.status).toBe(1);
    expect(direct.stderr).toMatch(/test-manifest\.js is not in the restore bundle/);
    // Through the bin, an argument that belongs to another mode or subcommand takes the whole CLI.
    const viaBin = await runShip(["--config", config, "--list-backups", "--json", "release", "--help"]);
    expect(viaBin.code, viaBin.stderr).toBe(0);
    expect(viaBin.stdout).toContain("Usage: ship release");
  });

  it("a word the bin takes for a quick mode but that is an option's value runs the command it is: bad input, exit 2", async () => {
    // `--config --rollback` names a config file "--rollback": an update run, which the restore bundle
    // leaves out. It said "internal error: ./commands/run.js is not in the restore bundle", exit 1.
    for (const word of ["--rollback", "--list-backups", "--help", "-h", "--version"]) {
      const run = await runShip(["--config", word], { cwd: root });
      expect(run.code, `${word}: ${run.stderr}`).toBe(2);
      // Named as the option it is (the missing-value check), no longer read as a config file's name.
      expect(run.stderr).toMatch(
        new RegExp(`^ship: --config has no value: the word after it is the option ${word}[;,: ]`),
      );
      expect(run.stderr).not.toMatch(/internal error|restore bundle/);
    }
    // `--sources --help` is a source named "--help" (commander takes the next word as the value):
    // refused as an update run refuses an unknown source.
    const sources = await runShip(["--config", config, "--sources", "--help"]);
    expect(sources.code, sources.stderr).toBe(2);
    expect(sources.stderr).toMatch(/--help/);
    expect(sources.stderr).not.toMatch(/internal error|restore bundle/);
  });

  it("ship --help and --version run the code-cached restore bundle too: no ES module chunk, nothing from node_modules", async () => {
    for (const args of [["--help"], ["--version"], ["-h"]]) {
      const { code, files } = await sourcesLoaded(root, args);
      expect(code, args.join(" ")).toBe(0);
      expect(
        files.filter((f) => f.includes("/node_modules/") || inBundle(f)),
        args.join(" "),
      ).toEqual([]);
    }
    // One cache each: help's holds what help compiled even when `ship --version` ran first.
    expect(existsSync(`${await restoreBundle()}.help.v8cache`)).toBe(true);
    expect(existsSync(`${await restoreBundle()}.version.v8cache`)).toBe(true);
    const help = await runShip(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ship \[options\] \[command\]/);
    expect(help.stdout).toContain("--rollback <id|path>");
    const version = await runShip(["--version"]);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    // `release --help` and --verbose still take the whole CLI, which prints the same help.
    const verbose = await runShip(["--help", "--verbose"]);
    expect(verbose.code).toBe(0);
    expect(verbose.stdout).toBe(help.stdout);
  });

  it("--rollback and --list-backups load neither worker_threads nor assert (pino's), nor perf_hooks, nor (the listing) child_process (commander's, trash's)", async () => {
    const listing = await builtinsLoaded(root, ["--config", config, "--list-backups"]);
    expect(listing.code, listing.stderr).toBe(0);
    // 2.0.0 again (earlier tests rolled it back), then the backup that update made is restored.
    const update = await runShip(["--config", config, "--force"]);
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("2.0.0\n");
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string }[])[0];
    const rollback = await builtinsLoaded(root, ["--config", config, "--rollback", backup?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(
      existsSync(join(root, "app/app.txt")) && (await readFile(join(root, "app/app.txt"), "utf8")),
    ).not.toBe("2.0.0\n");
    for (const { builtins } of [listing, rollback]) {
      expect(builtins).toContain("vm"); // the tracer saw the code-cached path run
      expect(builtins).not.toContain("worker_threads");
      expect(builtins).not.toContain("assert");
      // The loops' time slices (loop-slices.ts) read the monotonic clock through process.hrtime:
      // `performance` loaded perf_hooks and ten modules behind it, ~12 M instructions of a listing.
      expect(builtins).not.toContain("perf_hooks");
    }
    // commander's executable subcommands and the trash's background rm load it only when they run
    // (a 1-file rollback leaves its trash to the next run). (`net` comes anyway: stdout is a pipe
    // here, a tty at a terminal, and both are net.Socket.) The rollback does need it: the times of
    // the directories it touched go back to the nanosecond through touch(1), which Node cannot set
    // (exact-mtime.ts).
    expect(listing.builtins).not.toContain("child_process");
  });

  it("a rollback of an update starts no process when ship's own update last changed those directories: their times are whole microseconds", async () => {
    // An app of its own, so that what earlier tests installed or stamped does not matter.
    const base = await mkdtemp(join(root, "times-"));
    const release = join(base, "release");
    const appDir = join(base, "app");
    const timesConfig = join(base, "ship.toml");
    await mkdir(join(release, "lib"), { recursive: true });
    await writeFile(
      timesConfig,
      `[general]\nstate_file = "${base}/var/state.json"\nbackup_dir = "${base}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.app]\ntype = "local"\npath = "${release}"\napp_dir = "${appDir}"\n`,
    );
    await writeFile(join(release, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(release, "lib/a.txt"), "a1\n");
    const first = await runShip(["--config", timesConfig, "--force"]);
    expect(first.code, first.stderr).toBe(0);
    // The kernel stamped both with nanoseconds (~999 in 1,000 not whole microseconds); the update
    // that made them left them in whole microseconds, which Node sets back without touch(1).
    const installed = await Promise.all(
      ["", "lib"].map(async (rel) => (await stat(join(appDir, rel), { bigint: true })).mtimeNs),
    );
    for (const ns of installed) expect(ns % 1000n).toBe(0n);
    await writeFile(join(release, "update-manifest.yaml"), 'version: "2.0.0"\n');
    await writeFile(join(release, "lib/a.txt"), "a2\n");
    await writeFile(join(release, "lib/b.txt"), "b2\n");
    await writeFile(join(release, "top.txt"), "top\n");
    const update = await runShip(["--config", timesConfig, "--force"]);
    expect(update.code, update.stderr).toBe(0);
    const listed = await runShip(["--config", timesConfig, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const rollback = await builtinsLoaded(root, ["--config", timesConfig, "--rollback", backup?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(appDir, "lib/a.txt"), "utf8")).toBe("a1\n");
    expect(existsSync(join(appDir, "top.txt"))).toBe(false);
    expect(rollback.builtins).toContain("vm"); // the code-cached restore bundle ran
    // No `sh` and `touch`, so no child_process either; the times are back to the nanosecond.
    expect(rollback.builtins).not.toContain("child_process");
    const restored = await Promise.all(
      ["", "lib"].map(async (rel) => (await stat(join(appDir, rel), { bigint: true })).mtimeNs),
    );
    expect(restored).toEqual(installed);
  });

  it("--list-backups makes no thread-pool round trip, --rollback only a few (its writes, its lock) and no asynchronous child", async () => {
    // Each awaited fs call is a round trip through libuv's thread pool, ~3x the system call's own CPU:
    // reading ship.toml and checking its paths (a readlink per component of each), the records, the
    // listings of backup_dir made ~50 on a listing and ~160 on a rollback. What is read is read
    // synchronously now; a rollback's writes (lock, journal, restored index, state, each fsynced) and
    // a few checks around them still go through the pool, about as many whatever the app's size.
    const listing = await threadPoolRequests(root, ["--config", config, "--list-backups"]);
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.requests).toBe(0);
    // A release of its own, so that the update below makes the backup the rollback then restores,
    // whatever earlier tests left installed.
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "3.0.0"\n');
    await writeFile(join(root, "release/app.txt"), "3.0.0\n");
    // 40 files more, whose ctime moves after the update (a chmod to the same mode), so the rollback
    // hashes each before it takes it for ship's: a small file is read synchronously.
    const added = Array.from({ length: 40 }, (_, i) => `added/f${i}.txt`);
    await mkdir(join(root, "release/added"), { recursive: true });
    for (const rel of added) await writeFile(join(root, "release", rel), `${rel}\n`.repeat(500));
    // The app directory's time to the nanosecond, which only touch(1) sets back (exact-mtime.ts).
    const stamped = spawnSync("touch", ["-m", "-d", "@1700000000.123456789", join(root, "app")]);
    expect(stamped.status).toBe(0);
    const before = (await stat(join(root, "app"), { bigint: true })).mtimeNs;
    expect(before).toBe(1_700_000_000_123_456_789n);
    const update = await runShip(["--config", config, "--force"]);
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("3.0.0\n");
    for (const rel of added) await chmod(join(root, "app", rel), 0o644);
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string }[])[0];
    const rollback = await threadPoolRequests(root, ["--config", config, "--rollback", backup?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.requests).toBeLessThan(60);
    expect(existsSync(join(root, "app/added"))).toBe(false);
    // touch ran, from spawnSync: execFile's child, its pipes and events cost the main thread ~6 ms
    // of CPU against ~1.7 for the same `sh` and `touch`.
    expect((await stat(join(root, "app"), { bigint: true })).mtimeNs).toBe(before);
    expect(rollback.asyncChildren).toBe(0);
  });

  it("the journal's schemas are built when a journal is read, not as every update, --rollback and --list-backups load its module", async () => {
    // A fresh Node with the built module (dist/agent/apply/journal.js) and the real zod: each zod
    // schema object defines its `_zod` once, counted here. Its imports load first, so what the
    // journal's own import adds is what its top level builds (88 of the 452 schema objects a
    // listing built were the journal's, for a file only a crash leaves).
    const distApply = join(dirname(SHIP_BIN), "../apply");
    const stateDir = await mkdtemp(join(root, "journal-"));
    const script = `
      ${ZOD_OBJECTS_COUNTED}
      const before = built;
      const journal = await import(${JSON.stringify(join(distApply, "journal.js"))});
      const atLoad = built - before;
      const record = { kind: "restore", app: "app", appDir: "/srv/app", stateDir: ${JSON.stringify(stateDir)}, backupPath: "/var/b/app-1", version: "1.0.0" };
      const none = await journal.readJournal(${JSON.stringify(stateDir)});
      const afterNone = built - before;
      await journal.writeJournal(${JSON.stringify(stateDir)}, record);
      const read = await journal.readJournal(${JSON.stringify(stateDir)});
      const atRead = built - before;
      await journal.writeJournal(${JSON.stringify(stateDir)}, { ...record, kind: "neither" });
      const damaged = await journal.readJournal(${JSON.stringify(stateDir)}).then(() => "read", (e) => e.message);
      console.log(JSON.stringify({ atLoad, afterNone, none: none ?? null, read, atRead, damaged }));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(seen.atLoad).toBe(0);
    // No journal (every run but one after a crash): still none built.
    expect(seen.none).toBeNull();
    expect(seen.afterNone).toBe(0);
    // A journal read builds them once and checks it as before: a record of another kind is damage.
    expect(seen.atRead).toBeGreaterThan(0);
    expect(seen.read).toEqual({
      kind: "restore",
      app: "app",
      appDir: "/srv/app",
      stateDir,
      backupPath: "/var/b/app-1",
      version: "1.0.0",
    });
    expect(seen.damaged).toMatch(/journal\.json/);
  });

  it("the install index's schemas are built when an index is read whole, not as --list-backups loads its module to read a header", async () => {
    // As the journal's above: a fresh Node with the built modules and the real zod, each zod schema
    // object counted as it defines its `_zod`. An update writes the index read back here.
    const distApply = join(dirname(SHIP_BIN), "../apply");
    const stateDir = await mkdtemp(join(root, "index-"));
    const script = `
      ${ZOD_OBJECTS_COUNTED}
      await import(${JSON.stringify(join(distApply, "index-files.js"))});
      const before = built;
      const index = await import(${JSON.stringify(join(distApply, "install-index.js"))});
      const atLoad = built - before;
      const { IndexFiles } = await import(${JSON.stringify(join(distApply, "index-files.js"))});
      const files = new IndexFiles();
      for (let i = 0; i < 3; i++) files.set("f" + i + ".txt", { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: 1, ino: i + 1, ctimeMs: 1 });
      await index.writeInstallIndex(${JSON.stringify(stateDir)}, { version: "2.0.0", releaseId: "r2", installedAt: new Date(0).toISOString(), files, dirs: [] });
      const afterWrite = built - before;
      const header = await index.readInstallIndexHeader(${JSON.stringify(stateDir)});
      const atHeader = built - before;
      const whole = await index.readInstallIndex(${JSON.stringify(stateDir)});
      const atWhole = built - before;
      console.log(JSON.stringify({ atLoad, afterWrite, header, atHeader, atWhole, entries: whole.files.size, version: whole.version }));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout) as Record<string, number | object>;
    expect(seen.atLoad).toBe(0);
    expect(seen.afterWrite).toBe(0);
    // A header (every listing, rollback and run's state check): its four scalars' few schemas.
    expect(seen.header).toEqual({
      version: "2.0.0",
      releaseId: "r2",
      installedAt: new Date(0).toISOString(),
    });
    expect(seen.atHeader).toBeGreaterThan(0);
    expect(seen.atHeader).toBeLessThan(10);
    // The whole index builds the rest once and reads what was written.
    expect(seen.atWhole).toBeGreaterThan(30);
    expect(seen.entries).toBe(3);
    expect(seen.version).toBe("2.0.0");
  });

  it("ship --help loads no fs/promises (nor the readline and stream modules it brings): it reads no file", async () => {
    // `ship release -C DIR` checked DIR with fs/promises' stat, imported as the CLI loaded: 10 more
    // built-ins (~2–3 ms of CPU) on every `ship --help`.
    const help = await builtinsLoaded(root, ["--help"]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.builtins).toContain("vm"); // the tracer saw the code-cached path run
    expect(help.builtins).not.toContain("fs/promises");
  });

  it("an http update run takes undici from the code-cached bundle: nothing read from node_modules", async () => {
    // Loading undici module by module was ~0.1 s of CPU of every http(s) update here.
    const release = join(root, "http-release");
    await mkdir(release, { recursive: true });
    await writeFile(join(release, "update-manifest.yaml"), 'version: "3.0.0"\n');
    await writeFile(join(release, "app.txt"), "3.0.0\n");
    const archive = spawnSync("tar", ["-czf", "-", "-C", release, "."], { maxBuffer: 1 << 24 });
    expect(archive.status).toBe(0);
    const server = await startHttpServer(fileRoutes(new Map([["/app.tar.gz", { body: archive.stdout }]])));
    try {
      const httpConfig = join(root, "ship-http.toml");
      await mkdir(join(root, "app-http"), { recursive: true });
      await writeFile(
        httpConfig,
        `[general]\nstate_file = "${root}/var-http/state.json"\nbackup_dir = "${root}/var-http/backups"\n` +
          `min_interval_hours = 0\n\n[sources.app]\ntype = "http"\nurl = "${server.url}/app.tar.gz"\n` +
          `app_dir = "${root}/app-http"\n`,
      );
      const { code, files } = await sourcesLoaded(root, ["--config", httpConfig, "--force"]);
      expect(code).toBe(0);
      expect(await readFile(join(root, "app-http/app.txt"), "utf8")).toBe("3.0.0\n");
      expect(server.requests.length).toBeGreaterThan(0);
      expect(filesFrom(files, "undici")).toBe(0);
      expect(files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("a git update loads no http, https or tls: only a failed fetch's message reads proxy answers", async () => {
    const gitRoot = join(root, "git");
    const repos = await makeRepos(join(gitRoot, "repos"));
    const gitConfig = await writeGitConfig(gitRoot, repos.clone, join(gitRoot, "app"), 'branch = "main"');
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    // The first install, then an update staged from the installed commit (diff, cat-file, reset).
    const first = await runShip(["--config", gitConfig, "--force"]);
    expect(first.code, first.stderr).toBe(0);
    await commitFiles(repos.dev, "3.0.0", { "app.txt": "v3\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const update = await builtinsLoaded(root, ["--config", gitConfig, "--force"]);
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(gitRoot, "app/app.txt"), "utf8")).toBe("v3\n");
    expect(update.builtins).toContain("child_process");
    for (const network of ["http", "https", "tls"]) expect(update.builtins).not.toContain(network);
  });

  it("an update run (what the timer runs) uses the code-cached bundle too; --verbose keeps the ES module chunks", async () => {
    const bundleDir = BUNDLE_DIR;
    const run = ["--config", config, "--force"];
    const { code, files } = await sourcesLoaded(root, run);
    expect(code).toBe(0);
    // No ES module chunk and nothing from node_modules for a local source: the one cached bundle.
    expect(files.filter((f) => f.includes("/node_modules/") || inBundle(f))).toEqual([]);
    expect((await readdir(bundleDir)).some((f) => f.endsWith(".cjs.run.v8cache"))).toBe(true);
    // --verbose keeps the ES module chunks (with source maps).
    const verbose = await sourcesLoaded(root, [...run, "--verbose"]);
    expect(verbose.code).toBe(0);
    expect(verbose.files.some((f) => f.startsWith(bundleDir) && f.endsWith(".js"))).toBe(true);
  });

  it("the checks, --approve, --recover and ship release run the whole CLI's code-cached bundle, a cache each, refusing in the ES module bundle's very lines", async () => {
    // They imported the ES module chunks with source maps: ~0.2–0.3 s of CPU a start, against ~0.2
    // for a whole update run, for what the run's bundle already holds.
    const manifest = join(root, "modes-manifest.yaml");
    await writeFile(manifest, 'version: "2.0.0"\nrollout:\n  percent: 50\n');
    const broken = join(root, "modes-broken.yaml");
    await writeFile(broken, 'version: "2.0.0"\nrequirements: [\n');
    const runs: { key: string; args: string[]; code: number }[] = [
      { key: "test-manifest", args: ["--test-manifest", broken], code: 2 },
      { key: "check-requirements", args: ["--config", config, "--check-requirements", manifest], code: 0 },
      { key: "test-conditionals", args: ["--config", config, "--test-conditionals", manifest], code: 0 },
      { key: "check-rollout", args: ["--config", config, "--check-rollout", manifest, "--json"], code: 0 },
      { key: "approve", args: ["--config", config, "--approve", "app"], code: 2 },
      { key: "recover", args: ["--config", config, "--recover"], code: 0 },
      { key: "release", args: ["release", "bump"], code: 2 },
    ];
    for (const { key, args, code } of runs) {
      const traced = await sourcesLoaded(root, args);
      expect(traced.code, key).toBe(code);
      expect(
        traced.files.filter((f) => f.includes("/node_modules/") || inBundle(f)),
        key,
      ).toEqual([]);
      const cache = (await readdir(BUNDLE_DIR)).find(
        (f) => /^quick-.*\.cjs\./.test(f) && f.endsWith(`.${key}.v8cache`),
      );
      expect(cache, key).toBeDefined();
      if (code === 0) continue;
      // A refusal is the line the ES module bundle prints (with source maps on, as the bin ran it).
      const cached = await runShip(args, { cwd: root });
      const esm = spawnSync(
        process.execPath,
        ["--enable-source-maps", join(BUNDLE_DIR, "ship.js"), ...args],
        {
          cwd: root,
          encoding: "utf8",
        },
      );
      expect({ code: cached.code, stderr: cached.stderr, stdout: cached.stdout }, key).toEqual({
        code: esm.status,
        stderr: esm.stderr,
        stdout: esm.stdout,
      });
      expect(cached.stderr.trimEnd().split("\n"), key).toHaveLength(1);
    }
  });
});
