/**
 * A loaded host's file system for tests of the agent's event loop, and the measure of it: the
 * agent's "still working" to the hub and its ping answers ride that loop, so a pass over an app's
 * files must let timers run however long each file takes.
 */
import { readFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { performance } from "node:perf_hooks";
import { stall } from "./stalls.js";

/** node:fs as CommonJS: its functions can be replaced, and syncBuiltinESMExports shows that to importers. */
const fsModule = createRequire(import.meta.url)("node:fs") as Record<string, unknown>;

/** Ms of the loaded host's stalls this thread was told to take: held, though not on the CPU (they sleep). */
let slept = 0;

/** The real readFileSync, taken before onLoadedHost replaces node:fs's: reading the clock must not stall. */
const readReal = readFileSync;
/** Linux's account of this process's main thread (its id is the process's): the event loop's own. */
const MAIN_THREAD_SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/**
 * Ms the main thread has run on a CPU (schedstat's first field, in ns). process.cpuUsage() counts
 * every thread (libuv's pool, the GC's helpers) and so grew with work that does not hold the loop.
 */
function mainThreadCpuMs(): number {
  return Number(readReal(MAIN_THREAD_SCHEDSTAT, "utf8").split(" ")[0]) / 1e6;
}

/**
 * Runs `run` while every synchronous call of node:fs (lstatSync, renameSync, …) first blocks this
 * thread `ms`, as on a host at a load of 15, then runs for real.
 */
export async function onLoadedHost<T>(ms: number, run: () => Promise<T>): Promise<T> {
  const real = new Map<string, (...args: unknown[]) => unknown>();
  for (const [name, value] of Object.entries(fsModule)) {
    if (!name.endsWith("Sync") || typeof value !== "function") continue;
    const call = value as (...args: unknown[]) => unknown;
    real.set(name, call);
    fsModule[name] = (...args: unknown[]) => {
      stall(ms);
      // What the stall asked for, not how long it took: at a load of 20 the thread waits for a core
      // after each wake-up, and that wait is the machine's, not the code's (655 ms "held" at load 22).
      slept += ms;
      return call(...args);
    };
  }
  syncBuiltinESMExports();
  try {
    return await run();
  } finally {
    for (const [name, call] of real) fsModule[name] = call;
    syncBuiltinESMExports();
  }
}

/**
 * The longest stretch, in ms, in which no timer of this process ran while `run` ran; and how long it
 * took. A stretch counts what the code held in it (the main thread's CPU time plus the loaded host's
 * stalls as asked, which sleep) when that is less than its wall time: a CI machine's scheduler that
 * gives the CPU to another test file for 200 ms is not the code holding the loop (event-loop-slices
 * read 304 ms on a CI run of 3 forks on 2 cores, 130 ms alone; 655 ms at load 22 counting every
 * thread's CPU and the stalls' wall time).
 */
export async function longestStall(run: () => Promise<unknown>): Promise<{ longest: number; took: number }> {
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  let lastSlept = slept;
  let longest = 0;
  const gap = () => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    const held = cpu - lastCpu + (slept - lastSlept);
    longest = Math.max(longest, Math.min(now - last, held));
    last = now;
    lastCpu = cpu;
    lastSlept = slept;
  };
  const ticks = setInterval(gap, 5);
  const started = performance.now();
  try {
    await run();
  } finally {
    clearInterval(ticks);
  }
  gap();
  return { longest, took: performance.now() - started };
}
