// Small helpers the benchmarks share: scale knob, /proc memory readings, percentiles, tables,
// child processes that announce themselves on stdout.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// SHIP_BENCH_DIST: another build's dist/ (a probe comparing two builds mints with the base's).
export const dist = process.env.SHIP_BENCH_DIST ?? resolve(repoRoot, "dist");

/** BENCH_SCALE: 1 for the figures DESIGN.md names, 0.05 for a quick smoke run. */
export function benchScale() {
  const raw = process.env.BENCH_SCALE ?? "1";
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0)
    throw new RangeError(`BENCH_SCALE must be a positive number, got ${raw}`);
  return scale;
}

/** A count from the environment (`BENCH_AGENTS`, `BENCH_LOCAL_ROUNDS`…), `fallback` when unset; throws naming it when not a positive integer. */
export function benchCount(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${raw}`);
  return n;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or undefined once the process is gone. */
export function procStatusKb(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. Next to wall
 * time it shows how much of a slow figure was the process waiting for a core on a busy machine.
 */
export function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** This process's open-file limits; a child may raise its soft limit up to the hard one (startNode openFiles). */
export function openFilesLimits() {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  const value = (v) => (v === "unlimited" ? 1 << 20 : Number(v ?? 1024));
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** Prints rows (arrays of cells) as an aligned text table under a title. */
export function printTable(title, header, rows) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  const line = (row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(all[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of all.slice(1)) console.log(line(row));
}

/** One line saying what the figures were measured on; a loaded box explains slow figures. */
export function machineNote() {
  const cpu = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? "cpu"}, Node ${process.version}, load average ${load}`;
}

export const fmt = {
  ms: (ms) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`,
  kb: (kb) => (kb >= 10240 ? `${(kb / 1024).toFixed(0)} MB` : `${kb.toFixed(1)} KB`),
  int: (n) => Math.round(n).toLocaleString("en-US"),
};

/**
 * Spawns a Node process; `started` resolves once stdout matches `ready` (e.g. the listening URL),
 * at once without `ready`.
 * With `openFiles`, the child runs under a shell that raises its fd limit first.
 */
export function startNode(args, { ready, env, openFiles, ipc = false } = {}) {
  const command = openFiles ? "/bin/sh" : process.execPath;
  const argv = openFiles
    ? ["-c", `ulimit -n ${openFiles} && exec "$0" "$@"`, process.execPath, ...args]
    : args;
  const child = spawn(command, argv, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit", ...(ipc ? ["ipc"] : [])],
  });
  const started = new Promise((resolveReady, reject) => {
    if (!ready) return resolveReady([""]);
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk.toString();
      const match = ready.exec(buffered);
      if (match) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolveReady(match);
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code, signal) =>
      reject(new Error(`${args.join(" ")} exited (${code ?? signal}) before ready`)),
    );
    child.once("error", reject);
  });
  return { child, started };
}

/** Ends a child we started and waits for it to be gone. */
export async function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((done) => child.once("exit", done));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(timer);
}

/** Request/response over a forked child's IPC channel: send {cmd, ...}, await the reply with the same cmd. */
export function ipcCall(child, message) {
  return new Promise((resolveReply, reject) => {
    const onMessage = (reply) => {
      if (reply?.cmd !== message.cmd) return;
      cleanup();
      if (reply.error) reject(new Error(`${message.cmd}: ${reply.error}`));
      else resolveReply(reply);
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`child exited (${code ?? signal}) during ${message.cmd}`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message);
  });
}

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
