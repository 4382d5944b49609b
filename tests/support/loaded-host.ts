/**
 * A loaded host's file system for tests of the agent's event loop, and the measure of it: the
 * agent's "still working" to the hub and its ping answers ride that loop, so a pass over an app's
 * files must let timers run however long each file takes.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import { performance } from "node:perf_hooks";
import { stall } from "./stalls.js";

/** node:fs as CommonJS: its functions can be replaced, and syncBuiltinESMExports shows that to importers. */
const fsModule = createRequire(import.meta.url)("node:fs") as Record<string, unknown>;

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

/** The longest stretch, in ms, in which no timer of this process ran while `run` ran; and how long it took. */
export async function longestStall(run: () => Promise<unknown>): Promise<{ longest: number; took: number }> {
  let last = performance.now();
  let longest = 0;
  const ticks = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    await run();
  } finally {
    clearInterval(ticks);
  }
  longest = Math.max(longest, performance.now() - last);
  return { longest, took: performance.now() - started };
}
