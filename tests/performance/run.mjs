#!/usr/bin/env node
// `npm run bench`: every benchmark in sequence, each in its own process so one's heap and open
// sockets cannot colour the next one's figures. Tables go straight to the terminal. Exits non-zero
// only when a benchmark crashed; a missed target is a figure to read, not a failure.
//
//   npm run bench                         full scale (10,000 agents, 1 GB artifact, 20,000-file app)
//   BENCH_SCALE=0.05 npm run bench        quick smoke run
//   BENCH_ONLY=hub,memory npm run bench   a subset (apply, memory, hub, cluster)
//   BENCH_AGENTS=300 BENCH_ONLY=cluster   the hub and cluster parts at N agents (default 10,000 × scale)
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { benchScale, repoRoot } from "./bench-support.mjs";

const BENCHMARKS = [
  { name: "apply", file: "apply-bench.mjs" },
  { name: "memory", file: "download-memory-bench.mjs" },
  { name: "hub", file: "hub-bench.mjs" },
  // TypeScript, run with vite-node: it starts its cluster with the test harness (tests/support).
  { name: "cluster", file: "cluster-bench.ts", runner: "node_modules/vite-node/vite-node.mjs" },
];

const scale = benchScale();
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
if (selected.length === 0)
  throw new RangeError(`BENCH_ONLY names none of ${BENCHMARKS.map((b) => b.name).join(", ")}`);

console.log(`ship benchmarks, BENCH_SCALE=${scale}: ${selected.map((b) => b.name).join(", ")}`);
const outcomes = [];
for (const bench of selected) {
  console.log(`\n=== ${bench.name} (${bench.file}) ===`);
  const started = performance.now();
  const script = join(repoRoot, "tests/performance", bench.file);
  const args = bench.runner ? [join(repoRoot, bench.runner), script] : [script];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, BENCH_SCALE: String(scale) },
  });
  const [code, signal] = await once(child, "exit");
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  outcomes.push({ name: bench.name, ok: code === 0, how: signal ?? `exit ${code}`, seconds });
}

console.log("\n=== summary ===");
for (const o of outcomes)
  console.log(`${o.ok ? "ok     " : "CRASHED"}  ${o.name.padEnd(7)} ${o.how}, ${o.seconds} s`);
process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1;
