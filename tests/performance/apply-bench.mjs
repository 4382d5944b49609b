#!/usr/bin/env node
// Apply benchmark (DESIGN.md "Benchmarks"): a 20,000-file / 500 MB app, a release changing 1 % of
// its files, installed the way an operator runs it — `ship --force` as a whole process, Node's start
// included — once per source kind: a local directory, a local .tar.gz, a git bare repository over
// file://, and an http .tar.gz from a local server. Each is timed next to, in the same run, the
// seed's method (rsync -a full backup of the app, then copy every release file; for git: git fetch
// + git checkout in a clone, the seed's own steps) and the floor (cp -al of the release; tar -xzf
// into an empty directory; git fetch + checkout of the new commit in a clone). Then
// `ship --list-backups`, `ship --rollback` and `ship --help` next to `node -e 0`.
// The apply phase alone (plan + backup + apply, from ship's own log) is a second, labelled line:
// it is a part, never the whole. A second local-directory row ("local-rules") installs the same
// release with a typical manifest's `files` rules (a merge glob for config, a skip glob for logs, a
// replace rule), whose cost the first row's rule-less manifest hides.
//
//   npm run build && node tests/performance/apply-bench.mjs     (needs rsync, tar, git, /usr/bin/time)
//   BENCH_SCALE=0.1 ...    2,000 files / 50 MB          BENCH_DIR=/somewhere ... (default: OS temp dir)
//   BENCH_SOURCES=local,git ...   only these source kinds (of local, local-rules, targz, git, http; default: all)
//   BENCH_KEEP=1 ...       keep the fixture directory (printed) for profiling instead of removing it
//   BENCH_LOCAL_ROUNDS=5 ...  rounds of the local directory next to the seed method, and of local-rules (default 3)
//   BENCH_ARCHIVE_ROUNDS=5 ... rounds of the local .tar.gz and http updates, each beside a tar -xzf floor (default 3)
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  benchCount,
  benchScale,
  dist,
  machineNote,
  printTable,
  procCpuMs,
  startNode,
  stopChild,
} from "./bench-support.mjs";

const SHIP = join(dist, "agent/cli/main.cjs");
/** How often each start-up command and the rollback run (medians are printed). */
const STARTUP_RUNS = benchCount("BENCH_STARTUP_RUNS", 7);
const ROLLBACK_RUNS = benchCount("BENCH_ROLLBACK_RUNS", 3);
/**
 * Rounds of the local-directory update and the seed's copy method, alternating (medians are printed):
 * one run of each moved the ratio between 6.5× and 8.4× in two quiet runs of this benchmark.
 */
const LOCAL_ROUNDS = benchCount("BENCH_LOCAL_ROUNDS", 3);
/**
 * Rounds of the archive updates (local .tar.gz, http) each beside a `tar -xzf` floor taken at that
 * moment: one floor and one run of each moved the http ratio between 1.2× and 1.6× in quiet runs of
 * one build, the floor itself between 2.86 and 4.20 s.
 */
const ARCHIVE_ROUNDS = benchCount("BENCH_ARCHIVE_ROUNDS", 3);
const KINDS = ["local", "local-rules", "targz", "git", "http"];
/**
 * The typical manifest of the "local-rules" row, and the files its rules name (in the release from
 * 1.0.0 on, unchanged by 2.0.0: the row measures what the rules cost every file, not a merge).
 */
const TYPICAL_RULES = [
  "files:",
  '  "config/*.toml": { action: merge_toml }',
  '  "logs/**": { action: skip }',
  '  "bin/*": { action: replace }',
];
const TYPICAL_FILES = {
  "config/app.toml": "[server]\nport = 8080\nworkers = 4\n",
  "config/db.toml": '[db]\nhost = "localhost"\npool = 10\n',
  "logs/.keep": "",
  "bin/start": "#!/bin/sh\nexec ./app\n",
};
const SOURCES = (process.env.BENCH_SOURCES ?? KINDS.join(",")).split(",").filter((k) => KINDS.includes(k));
/**
 * NODE_EXTRA_CA_CERTS makes every Node process read and parse that CA file as it starts, before any
 * code of its own: on a sandbox that set it (a 225 KB bundle) `node -e 0` took ~118 ms of CPU instead
 * of ~73, and `ship --list-backups` 1.8× of it instead of 2.3×. The start-up rows compare ship with
 * Node's own start, so no timed command gets it (nothing timed here uses https); the note says so.
 */
const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...inherited } = process.env;
const GIT_ENV = {
  ...inherited,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** Runs a command under /usr/bin/time; wall ms, CPU ms, peak RSS (kB) and its output. Throws on failure. */
function timed(cmd, args, { cwd, okCodes = [0] } = {}) {
  const start = performance.now();
  const run = spawnSync("/usr/bin/time", ["-f", "%M %U %S", cmd, ...args], {
    cwd,
    encoding: "utf8",
    env: GIT_ENV,
    maxBuffer: 1 << 28,
  });
  const wallMs = performance.now() - start;
  if (!okCodes.includes(run.status ?? -1))
    throw new Error(`${cmd} ${args.join(" ")} exited ${run.status}: ${run.stderr.slice(-2000)}`);
  const lines = run.stderr.trimEnd().split("\n");
  const [rss, user, sys] = (lines.at(-1) ?? "").split(" ").map(Number);
  return { wallMs, cpuMs: (user + sys) * 1000, maxRssKb: rss, stdout: run.stdout, stderr: run.stderr };
}

const sh = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, env: GIT_ENV, stdio: "pipe", maxBuffer: 1 << 28 });

/** The release tree: `files` files in 100 directories, `changed` of them carrying `version`'s bytes. */
function writeRelease(dir, { files, totalBytes, version, changed, pool, only, rules = false }) {
  const avg = totalBytes / files;
  for (let i = 0; i < files; i++) {
    if (only && !changed.has(i)) continue;
    const rel = `d${String(i % 100).padStart(3, "0")}/f${i}.dat`;
    const marker = changed.has(i) ? version : "1.0.0";
    const size = Math.max(64, Math.round(avg * (0.2 + (1.6 * ((i * 7919) % 1000)) / 1000)));
    const offset = (i * 104729) % (pool.length - size);
    mkdirSync(join(dir, dirname(rel)), { recursive: true });
    writeFileSync(
      join(dir, rel),
      Buffer.concat([Buffer.from(`${rel} ${marker}\n`), pool.subarray(offset, offset + size)]),
    );
  }
  const manifest = [`version: "${version}"`, ...(rules ? TYPICAL_RULES : [])];
  writeFileSync(join(dir, "update-manifest.yaml"), `${manifest.join("\n")}\n`);
  if (!rules || only) return;
  for (const [rel, text] of Object.entries(TYPICAL_FILES)) {
    mkdirSync(join(dir, dirname(rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

function config(root, kind, source) {
  const file = join(root, `ship-${kind}.toml`);
  const v = join(root, `var-${kind}`);
  writeFileSync(
    file,
    `[general]\nstate_file = "${v}/state.json"\nbackup_dir = "${v}/backups"\nmin_interval_hours = 0\n\n[sources.app]\n${source}app_dir = "${join(root, `app-${kind}`)}"\n`,
  );
  return file;
}

function ship(configFile, ...args) {
  return timed(process.execPath, [SHIP, "--config", configFile, ...args]);
}

/** The apply phase's own timings (plan + backup + apply...) from ship's "applied update" log line. */
function applyPhaseMs(stderr) {
  const line = stderr.split("\n").find((l) => l.includes('"msg":"applied update"'));
  if (line === undefined) return Number.NaN;
  return Object.values(JSON.parse(line).ms).reduce((a, b) => a + b, 0);
}

/** Each pipeline step's duration from ship's log (BENCH_VERBOSE=1 prints them). */
function stepLines(stderr) {
  return stderr
    .split("\n")
    .filter((l) => /"durationMs"|staged|exported|extracted/.test(l))
    .map((l) => `  ${l}\n`)
    .join("");
}

/** The app of `configFile` rolled back to 1.0.0, to start the next round from. */
function rollBackToFirst(configFile, kind) {
  const listed = JSON.parse(ship(configFile, "--list-backups", "--json").stdout);
  const backup = listed.find((b) => b.version === "1.0.0");
  if (backup === undefined) throw new Error(`no backup of 1.0.0 (${kind}) to start the next round from`);
  ship(configFile, "--rollback", backup.id);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const scale = benchScale();
  const files = Math.max(100, Math.round(20_000 * scale));
  const totalBytes = Math.round(500e6 * scale);
  const changedCount = Math.max(1, Math.round(files * 0.01));
  const changed = new Set(
    Array.from({ length: changedCount }, (_, k) => Math.floor((k * files) / changedCount)),
  );
  if (!existsSync(SHIP)) throw new Error("run `npm run build` first");
  for (const tool of ["rsync", "tar", "git", "cp", "/usr/bin/time"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required`);
  }
  const parent = process.env.BENCH_DIR ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const root = mkdtempSync(join(parent, "ship-apply-bench-"));
  let server;
  try {
    const pool = randomBytes(1 << 22);
    const spec = { files, totalBytes, changed, pool };
    const src = join(root, "release");
    process.stderr.write(
      `setup: ${files} files, ${(totalBytes / 1e6).toFixed(0)} MB, ${changedCount} changed (1 %)\n`,
    );
    writeRelease(src, { ...spec, version: "1.0.0" });
    const rulesSrc = join(root, "release-rules");
    if (SOURCES.includes("local-rules")) writeRelease(rulesSrc, { ...spec, version: "1.0.0", rules: true });
    sh("tar", ["-czf", join(root, "v1.tar.gz"), "-C", src, "."]);
    const bare = join(root, "origin.git");
    const work = ["--git-dir", join(root, "work.git"), "--work-tree", src];
    sh("git", ["init", "-q", "--bare", bare]);
    sh("git", ["init", "-q", "--bare", join(root, "work.git")]);
    sh("git", [...work, "add", "-A"]);
    sh("git", [...work, "commit", "-q", "-m", "1.0.0"]);
    sh("git", [...work, "push", "-q", bare, "HEAD:refs/heads/main"]);
    const clone = join(root, "agent-clone");
    sh("git", ["clone", "-q", "--branch", "main", `file://${bare}`, clone]);
    const floorClone = join(root, "floor-clone");
    sh("git", ["clone", "-q", "--branch", "main", `file://${bare}`, floorClone]);

    const configs = {
      local: config(root, "local", `type = "local"\npath = "${src}"\n`),
      "local-rules": config(root, "local-rules", `type = "local"\npath = "${rulesSrc}"\n`),
      targz: config(root, "targz", `type = "local"\npath = "${join(root, "v1.tar.gz")}"\n`),
      git: config(
        root,
        "git",
        `type = "git"\nlocal_path = "${clone}"\nremote = "file://${bare}"\nbranch = "main"\n`,
      ),
    };
    server = startNode(["tests/performance/artifact-server.mjs", join(root, "v1.tar.gz")], {
      ready: /serving on (\S+)/,
    });
    let [, url] = await server.started;
    configs.http = config(root, "http", `type = "http"\nurl = "${url}"\n`);
    for (const [kind, file] of Object.entries(configs)) {
      if (!SOURCES.includes(kind)) continue;
      process.stderr.write(`installing 1.0.0 (${kind})...\n`);
      ship(file, "--force");
    }

    process.stderr.write("making 2.0.0 (local dir, tar.gz, git commit)...\n");
    writeRelease(src, { ...spec, version: "2.0.0", only: true });
    if (SOURCES.includes("local-rules"))
      writeRelease(rulesSrc, { ...spec, version: "2.0.0", only: true, rules: true });
    sh("tar", ["-czf", join(root, "v2.tar.gz"), "-C", src, "."]);
    sh("git", [...work, "add", "-A"]);
    sh("git", [...work, "commit", "-q", "-m", "2.0.0"]);
    sh("git", [...work, "push", "-q", bare, "HEAD:refs/heads/main"]);
    config(root, "targz", `type = "local"\npath = "${join(root, "v2.tar.gz")}"\n`);
    await stopChild(server.child);
    server = startNode(["tests/performance/artifact-server.mjs", join(root, "v2.tar.gz")], {
      ready: /serving on (\S+)/,
    });
    [, url] = await server.started;
    config(root, "http", `type = "http"\nurl = "${url}"\n`);
    sh("sync", []);

    // The seed's method on a copy of the installed app, and the floors, in this same run.
    const seedApp = join(root, "seed-app");
    // Every source kind installed the same 1.0.0: copy whichever app this run has.
    cpSync(join(root, `app-${SOURCES[0]}`), seedApp, { recursive: true, verbatimSymlinks: true });
    sh("sync", []);
    const rsync = timed("rsync", ["-a", `${seedApp}/`, join(root, "seed-backup/")]);
    const copyAll = timed("cp", ["-a", `${src}/.`, `${seedApp}/`]);
    const untar = timed("tar", ["-xzf", join(root, "v2.tar.gz"), "-C", seedApp]);
    // The floor: the same archive into an empty directory on the same disk, started as ship's runs
    // are, with nothing left to write back: the seed's steps above leave ~1.5 GB of dirty pages,
    // whose writeback a floor taken right after them shared the disk and the kernel's flusher with.
    const tarFloorRun = () => {
      const into = join(root, "floor-tar");
      rmSync(into, { recursive: true, force: true });
      mkdirSync(into);
      sh("sync", []);
      return timed("tar", ["-xzf", join(root, "v2.tar.gz"), "-C", into]);
    };
    const tarFloors = [tarFloorRun()];
    // The seed's git method fetches first (seed README: "1. Git fetch origin"), as ship does.
    const gitFetch = timed("git", ["fetch", "-q", "origin"], { cwd: floorClone });
    const checkout = timed("git", ["checkout", "-q", "origin/main"], { cwd: floorClone });
    // The bench's server on its own: what any client needs just to receive the body.
    const curl =
      SOURCES.includes("http") && spawnSync("sh", ["-c", "command -v curl"]).status === 0
        ? timed("curl", ["-sS", "-o", "/dev/null", url])
        : undefined;
    sh("sync", []);

    const runs = {};
    /** ship's http run, and the CPU the bench's server spent sending it the archive meanwhile. */
    const serverCpuMs = [];
    const shipHttp = () => {
      const before = procCpuMs(server.child.pid);
      const result = ship(configs.http, "--force");
      serverCpuMs.push(procCpuMs(server.child.pid) - before);
      return result;
    };
    for (const kind of SOURCES) {
      process.stderr.write(`ship --force (${kind})...\n`);
      runs[kind] = kind === "http" ? shipHttp() : ship(configs[kind], "--force");
      if (process.env.BENCH_VERBOSE) process.stderr.write(stepLines(runs[kind].stderr));
      sh("sync", []);
    }
    // More rounds of the archive updates, each from 1.0.0 again (the app rolled back) and each
    // beside a floor taken in the same round: the ratio is read round by round.
    const archiveKinds = ["targz", "http"].filter((kind) => runs[kind] !== undefined);
    const archiveRuns = Object.fromEntries(archiveKinds.map((kind) => [kind, [runs[kind]]]));
    for (let round = 2; round <= ARCHIVE_ROUNDS && archiveKinds.length > 0; round++) {
      process.stderr.write(
        `round ${round} of ${ARCHIVE_ROUNDS}: tar -xzf, then ship --force (${archiveKinds})...\n`,
      );
      for (const kind of archiveKinds) rollBackToFirst(configs[kind], kind);
      // As a freshly published archive: its stat moved, so the local source reads it whole as in
      // the first round instead of taking its sha256 from the record it kept (archive-hash-cache.ts).
      utimesSync(join(root, "v2.tar.gz"), new Date(), new Date());
      tarFloors.push(tarFloorRun());
      for (const kind of archiveKinds) {
        sh("sync", []);
        archiveRuns[kind].push(kind === "http" ? shipHttp() : ship(configs[kind], "--force"));
      }
      sh("sync", []);
    }
    // More rounds of the local directory and the seed's copy method, alternating, each from 1.0.0
    // again: the app rolled back, the changed release files written again (same bytes, new stat, so
    // ship reads them as in the first round), the seed on a fresh copy of the 1.0.0 app.
    const localRuns = runs.local === undefined ? [] : [runs.local];
    const seedCopies = [rsync.wallMs + copyAll.wallMs];
    for (let round = 2; round <= LOCAL_ROUNDS && runs.local !== undefined; round++) {
      process.stderr.write(`round ${round} of ${LOCAL_ROUNDS}: seed method, then ship --force (local)...\n`);
      rollBackToFirst(configs.local, "local");
      writeRelease(src, { ...spec, version: "2.0.0", only: true });
      for (const dir of [seedApp, join(root, "seed-backup")]) rmSync(dir, { recursive: true, force: true });
      cpSync(join(root, "app-local"), seedApp, { recursive: true, verbatimSymlinks: true });
      sh("sync", []);
      const backupAgain = timed("rsync", ["-a", `${seedApp}/`, join(root, "seed-backup/")]);
      const copyAgain = timed("cp", ["-a", `${src}/.`, `${seedApp}/`]);
      seedCopies.push(backupAgain.wallMs + copyAgain.wallMs);
      sh("sync", []);
      localRuns.push(ship(configs.local, "--force"));
      sh("sync", []);
    }
    // The same rounds for the typical manifest's row, after the first row's (which stays as it was).
    const rulesRuns = runs["local-rules"] === undefined ? [] : [runs["local-rules"]];
    for (let round = 2; round <= LOCAL_ROUNDS && runs["local-rules"] !== undefined; round++) {
      process.stderr.write(`round ${round} of ${LOCAL_ROUNDS}: ship --force (local, typical manifest)...\n`);
      rollBackToFirst(configs["local-rules"], "local-rules");
      writeRelease(rulesSrc, { ...spec, version: "2.0.0", only: true, rules: true });
      sh("sync", []);
      rulesRuns.push(ship(configs["local-rules"], "--force"));
      sh("sync", []);
    }
    // Last: hard links move the release files' ctime, which would void the source's stat index.
    const cpal = timed("cp", ["-al", src, join(root, "floor-cpal")]);
    // Start-up, side by side: each command right after `node -e 0`, STARTUP_RUNS times, so a busy
    // moment of the machine hits them alike; medians, and CPU time beside wall time.
    process.stderr.write("start-up: node -e 0, ship --help, ship --list-backups...\n");
    const starts = { node: [], help: [], list: [] };
    for (let i = 0; i < STARTUP_RUNS; i++) {
      starts.node.push(timed(process.execPath, ["-e", "0"]));
      starts.help.push(timed(process.execPath, [SHIP, "--help"]));
      starts.list.push(ship(configs.local, "--list-backups"));
    }
    // The rollback of the 1 % change, ROLLBACK_RUNS times: roll back, install 2.0.0 again, repeat.
    const rollbacks = [];
    for (let i = 0; i < ROLLBACK_RUNS; i++) {
      process.stderr.write(`ship --rollback (${i + 1} of ${ROLLBACK_RUNS})...\n`);
      if (i > 0) ship(configs.local, "--force");
      const listed = ship(configs.local, "--list-backups", "--json");
      const backup = JSON.parse(listed.stdout).find((b) => b.version === "1.0.0");
      if (backup === undefined) break; // BENCH_SOURCES without local: nothing to roll back
      starts.node.push(timed(process.execPath, ["-e", "0"]));
      rollbacks.push(ship(configs.local, "--rollback", backup.id));
    }

    const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
    const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
    const x = (a, b) => `${(a / b).toFixed(1)}×`;
    const seedCopy = median(seedCopies);
    const seedTar = rsync.wallMs + untar.wallMs;
    const seedGit = rsync.wallMs + gitFetch.wallMs + checkout.wallMs;
    const missing = { wallMs: Number.NaN, cpuMs: Number.NaN, maxRssKb: Number.NaN };
    // The local and archive rows are the median round (by ship's wall time); git ran once.
    const medianOf = (list) => [...list].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(list.length / 2)];
    const medianLocal = medianOf(localRuns);
    const medianRules = medianOf(rulesRuns);
    const run = (kind) =>
      (kind === "local"
        ? medianLocal
        : kind === "local-rules"
          ? medianRules
          : archiveRuns[kind] === undefined
            ? runs[kind]
            : medianOf(archiveRuns[kind])) ?? missing;
    const rounds = (values) => (values.length > 1 ? ` (median of ${values.length})` : "");
    const ratios = localRuns.map((r, i) => (seedCopies[i] ?? Number.NaN) / r.wallMs);
    const spread =
      ratios.length > 1
        ? ` (rounds ${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}×)`
        : "";
    const tarFloorMs = median(tarFloors.map((r) => r.wallMs));
    /** ship's time over the floor's, round by round: the median round's, and the range when there are more. */
    const overFloor = (kind) => {
      const list = archiveRuns[kind] ?? [];
      const ratios = list.map((r, i) => r.wallMs / (tarFloors[i]?.wallMs ?? Number.NaN));
      const range =
        ratios.length > 1
          ? `; median of ${ratios.length} rounds, ${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}×`
          : "";
      return `tar -xzf ${s(tarFloorMs)} (${median(ratios).toFixed(1)}× of it${range})`;
    };
    // CPU beside wall: on a busy machine the difference is time spent waiting for a core.
    const shipTime = (kind) => `${s(run(kind).wallMs)} (CPU ${s(run(kind).cpuMs)})`;
    const rows = [
      [
        `local directory${rounds(localRuns)}`,
        shipTime("local"),
        s(seedCopy),
        `${x(seedCopy, run("local").wallMs)}${spread}`,
        `cp -al ${s(cpal.wallMs)}`,
        mb(run("local").maxRssKb),
      ],
      [
        `local directory, typical manifest (3 file rules)${rounds(rulesRuns)}`,
        shipTime("local-rules"),
        s(seedCopy),
        x(seedCopy, run("local-rules").wallMs),
        `cp -al ${s(cpal.wallMs)}`,
        mb(run("local-rules").maxRssKb),
      ],
      [
        `local .tar.gz${rounds(archiveRuns.targz ?? [])}`,
        shipTime("targz"),
        s(seedTar),
        x(seedTar, run("targz").wallMs),
        overFloor("targz"),
        mb(run("targz").maxRssKb),
      ],
      [
        "git (bare repo, file://)",
        shipTime("git"),
        s(seedGit),
        x(seedGit, run("git").wallMs),
        `git fetch ${s(gitFetch.wallMs)} + checkout ${s(checkout.wallMs)}`,
        mb(run("git").maxRssKb),
      ],
      [
        `http .tar.gz (local server)${rounds(archiveRuns.http ?? [])}`,
        shipTime("http"),
        s(seedTar),
        x(seedTar, run("http").wallMs),
        overFloor("http"),
        mb(run("http").maxRssKb),
      ],
    ].filter((_, i) => SOURCES.includes(KINDS[i]));
    console.log(
      `\napply benchmark: ${files} files, ${(totalBytes / 1e6).toFixed(0)} MB, ${changedCount} changed (1 %); ${machineNote()}`,
    );
    console.log(
      "every ship figure is `ship --force` as a whole process (Node's start included); page cache warm for all",
    );
    if (extraCaCerts !== undefined)
      console.log(
        "NODE_EXTRA_CA_CERTS was set here: left out of every timed command's environment (it adds its CA file's parsing to each Node start, node -e 0 included)",
      );
    printTable(
      "update to the new release, end to end",
      ["source", "ship", "seed method", "seed / ship", "floor", "ship peak RSS"],
      rows,
    );
    console.log(
      `seed method = rsync -a full backup (${s(rsync.wallMs)}) + copy every release file (cp -a ${s(copyAll.wallMs)}, first round; local: the median of ${seedCopies.length} rounds alternating with ship's; tar -xzf ${s(untar.wallMs)}; git: git fetch ${s(gitFetch.wallMs)} + git checkout ${s(checkout.wallMs)} in a clone)`,
    );
    if (curl !== undefined)
      console.log(
        `http server alone: curl -o /dev/null of the same URL ${s(curl.wallMs)} (the download part of the http row; ship extracts while it downloads); the server's CPU while ship downloaded: ${s(median(serverCpuMs))}${rounds(serverCpuMs)}, on the cores ship shares with it`,
      );
    printTable(
      "part of the above, NOT the whole: ship's apply phase alone (plan + backup + apply + finalize, from its log)",
      ["source", "apply phase"],
      Object.keys(runs).map((kind) => [kind, s(applyPhaseMs(run(kind).stderr))]),
    );
    const ms = (runs, key) => median(runs.map((r) => r[key]));
    const nodeWall = ms(starts.node, "wallMs");
    const nodeCpu = ms(starts.node, "cpuMs");
    const startRow = (label, runs, target) => [
      `${label} (median of ${runs.length})`,
      s(ms(runs, "wallMs")),
      s(Math.min(...runs.map((r) => r.wallMs))),
      s(ms(runs, "cpuMs")),
      `${x(ms(runs, "wallMs"), nodeWall)} (CPU ${x(ms(runs, "cpuMs"), nodeCpu)})`,
      target,
    ];
    printTable(
      "operator commands, end to end (Node's start included), side by side with node -e 0",
      ["command", "wall", "fastest", "CPU", "vs node -e 0", "target"],
      [
        startRow("node -e 0", starts.node, ""),
        startRow("ship --help", starts.help, "≤ 2.0×"),
        startRow("ship --list-backups", starts.list, "≤ 2.0×"),
        startRow(`ship --rollback ID (1 % change: ${changedCount} files)`, rollbacks, "≤ 2.0× and ≤ 0.30 s"),
      ],
    );
  } finally {
    if (server !== undefined) await stopChild(server.child);
    if (process.env.BENCH_KEEP) process.stderr.write(`fixture kept: ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
