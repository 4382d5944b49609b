#!/usr/bin/env node
// Apply benchmark (DESIGN.md "Benchmarks"): a 20,000-file / 500 MB app, a release changing 1 % of
// the files. Times, in one run on the same tree: the seed's method (rsync -a full backup, then
// cp -a of every release file), ship's update (plan + backup + apply + finalize) and ship's
// rollback, each ship step in its own process (wall time includes Node's start). Staging the
// release is the source's job and is not timed; a source records each file's sha256, size and mode
// while it extracts, so that list is given; what describing (stat + hash) a plain-directory release
// would cost instead is measured separately.
//
//   npm run build && node tests/performance/apply-bench.mjs        (needs rsync and /usr/bin/time)
//   BENCH_SCALE=0.1 node tests/performance/apply-bench.mjs          (2,000 files / 50 MB)
//   BENCH_DIR=/somewhere ...                                        (default: the OS temp dir)
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../../dist");
const api = () => import(pathToFileURL(join(dist, "agent/apply/index.js")).href);
const schema = () => import(pathToFileURL(join(dist, "shared/manifest/schema.js")).href);

if (process.argv[2] === "--worker") await worker(process.argv[3], process.argv[4]);
else await main();

/** One timed ship step in a fresh process: prints {ms, maxRssKb}. */
async function worker(mode, argsFile) {
  const args = JSON.parse(readFileSync(argsFile, "utf8"));
  const { applyUpdate, restoreBackup } = await api();
  const { Manifest } = await schema();
  // The source's record of what it extracted (path, sha256, size, mode), made while extracting.
  const entries = mode === "update" ? JSON.parse(readFileSync(args.entriesFile, "utf8")) : undefined;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let result;
  if (mode === "update") {
    const release = { dir: args.stagingDir, files: new Map(Object.entries(entries)) };
    result = await applyUpdate({
      app: "benchapp",
      appDir: args.appDir,
      release,
      manifest: Manifest.parse({ version: args.version }),
      stateDir: args.stateDir,
      backupRoot: args.backupRoot,
    });
    result = { backupPath: result.backup.path, operations: result.operations, copied: result.copied };
  } else {
    result = await restoreBackup({ backupPath: args.backupPath });
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(JSON.stringify({ ms, cpuMs, maxRssKb: process.resourceUsage().maxRSS, result }));
}

function runWorker(mode, args, root) {
  // Flush what setup and the seed method left dirty, so ship's few fsyncs do not pay for it.
  execFileSync("sync");
  const argsFile = join(root, `${mode}-args.json`);
  writeFileSync(argsFile, JSON.stringify(args));
  const start = performance.now();
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--worker", mode, argsFile], {
    encoding: "utf8",
  });
  return { wallMs: performance.now() - start, ...JSON.parse(out) };
}

/** Runs a command (under /usr/bin/time for its peak RSS when installed: Debian package "time"). */
function timed(cmd, args) {
  const withTime = existsSync("/usr/bin/time");
  const start = performance.now();
  const run = withTime
    ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8" })
    : spawnSync(cmd, args, { encoding: "utf8" });
  const wallMs = performance.now() - start;
  if (run.status !== 0) throw new Error(`${cmd} failed: ${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  return { wallMs, maxRssKb: withTime ? Number(lines[lines.length - 1]) : Number.NaN };
}

function generate(dir, files, totalBytes, changed, version, pool) {
  const hashes = {};
  const avg = totalBytes / files;
  for (let i = 0; i < files; i++) {
    const rel = `d${String(i % 100).padStart(3, "0")}/f${i}.dat`;
    const v = changed.has(i) ? version : "v1";
    const size = Math.max(64, Math.round(avg * (0.2 + (1.6 * ((i * 7919) % 1000)) / 1000)));
    const offset = (i * 104729) % (pool.length - size);
    const content = Buffer.concat([Buffer.from(`${rel} ${v}\n`), pool.subarray(offset, offset + size)]);
    mkdirSync(join(dir, dirname(rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
    hashes[rel] = {
      type: "file",
      sha256: createHash("sha256").update(content).digest("hex"),
      size: content.length,
      mode: 0o644,
    };
  }
  return hashes;
}

async function main() {
  const scale = Number(process.env.BENCH_SCALE ?? "1");
  const files = Math.max(100, Math.round(20_000 * scale));
  const totalBytes = Math.round(500e6 * scale);
  const changedCount = Math.max(1, Math.round(files * 0.01));
  const changed = new Set(
    Array.from({ length: changedCount }, (_, k) => Math.floor((k * files) / changedCount)),
  );
  if (!existsSync(join(dist, "agent/apply/index.js"))) throw new Error("run `npm run build` first");
  for (const tool of ["rsync", "cp"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is required (apt-get install -y ${tool})`);
  }
  const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "ship-apply-bench-"));
  try {
    const { applyUpdate, describeRelease } = await api();
    const { Manifest } = await schema();
    const appDir = join(root, "app");
    const stateDir = join(root, "state");
    const backupRoot = join(root, "backups");
    const pool = randomBytes(1 << 22);

    process.stderr.write(
      `setup: ${files} files, ${(totalBytes / 1e6).toFixed(0)} MB, ${changedCount} changed...\n`,
    );
    const stage1 = join(root, "stage-v1");
    const h1 = generate(stage1, files, totalBytes, new Set(), "v1", pool);
    await applyUpdate({
      app: "benchapp",
      appDir,
      stateDir,
      backupRoot,
      manifest: Manifest.parse({ version: "1.0.0" }),
      release: { dir: stage1, files: new Map(Object.entries(h1)) },
    });
    const stage2 = join(root, "stage-v2");
    const h2 = generate(stage2, files, totalBytes, changed, "v2", pool);
    const entriesFile = join(root, "v2-entries.json");
    writeFileSync(entriesFile, JSON.stringify(h2));
    const seedApp = join(root, "seed-app");
    execFileSync("cp", ["-a", `${appDir}/.`, seedApp]);
    execFileSync("sync");

    // The seed's method: a full rsync backup, then copy every release file over the app.
    const rsync = timed("rsync", ["-a", `${seedApp}/`, join(root, "seed-backup/")]);
    const copy = timed("cp", ["-a", `${stage2}/.`, `${seedApp}/`]);

    // What a plain-directory release costs to hash (a source extracting an archive hashes as it goes).
    const hashStart = performance.now();
    await describeRelease(stage2);
    const hashMs = performance.now() - hashStart;

    const update = runWorker(
      "update",
      { appDir, stateDir, backupRoot, stagingDir: stage2, entriesFile, version: "2.0.0" },
      root,
    );
    const sample = [...changed][0];
    const sampleRel = `d${String(sample % 100).padStart(3, "0")}/f${sample}.dat`;
    if (!readFileSync(join(appDir, sampleRel)).subarray(0, 40).toString().includes("v2"))
      throw new Error("update did not apply");
    const rollback = runWorker("restore", { backupPath: update.result.backupPath }, root);
    if (!readFileSync(join(appDir, sampleRel)).subarray(0, 40).toString().includes("v1"))
      throw new Error("rollback did not restore");

    const seedMs = rsync.wallMs + copy.wallMs;
    const s = (ms) => `${(ms / 1000).toFixed(3)} s`;
    const mb = (kb) => (Number.isNaN(kb) ? "n/a" : `${(kb / 1024).toFixed(0)} MB`);
    const rows = [
      ["seed: rsync -a full backup", s(rsync.wallMs), mb(rsync.maxRssKb)],
      ["seed: cp -a every release file", s(copy.wallMs), mb(copy.maxRssKb)],
      ["seed: total", s(seedMs), ""],
      ["ship update, process start to exit", s(update.wallMs), mb(update.maxRssKb)],
      ["  of which scan + plan + backup + apply", s(update.ms), ""],
      ["  its CPU time (user + system)", s(update.cpuMs), ""],
      ["ship rollback, process start to exit", s(rollback.wallMs), mb(rollback.maxRssKb)],
      ["  of which restore", s(rollback.ms), ""],
      ["  its CPU time (user + system)", s(rollback.cpuMs), ""],
      ["ratio seed / ship update (wall)", `${(seedMs / update.wallMs).toFixed(1)}x`, ""],
      ["ratio seed / ship update (in-process)", `${(seedMs / update.ms).toFixed(1)}x`, ""],
      ["describing a plain-directory release (stat + sha256; not in ship's update)", s(hashMs), ""],
    ];
    console.log(
      `\napply benchmark: ${files} files, ${(totalBytes / 1e6).toFixed(0)} MB, ${changedCount} changed (1 %), BENCH_SCALE=${scale}`,
    );
    console.log(
      `ship file operations: ${update.result.operations}, copied across filesystems: ${update.result.copied}; page cache warm for both methods`,
    );
    const load = loadavg().map((l) => l.toFixed(1));
    console.log(
      `load average at the end: ${load.join(" ")} on ${cpus().length} CPUs (other work slows every figure)\n`,
    );
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"what".padEnd(width)}  ${"time".padStart(9)}  peak RSS`);
    for (const [what, time, rss] of rows) console.log(`${what.padEnd(width)}  ${time.padStart(9)}  ${rss}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
