/**
 * Whether a service runs on this host. systemd is asked when it is the init system (the
 * documented test is the directory /run/systemd/system, as sd_booted() does); in containers and
 * on other inits, the process table is searched for the name instead.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { basename } from "node:path";
import { runProgram } from "../exec/run-program.js";
import { findOnPath } from "./find-on-path.js";

export type ServiceProbe = "systemd" | "process-table";

export function systemdRunning(env: NodeJS.ProcessEnv = process.env, root = "/run/systemd/system"): boolean {
  return existsSync(root) && findOnPath("systemctl", env) !== undefined;
}

/** Exit status of a program run without a shell; -1 when it could not start or timed out. */
export async function exitStatus(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 10_000,
): Promise<number> {
  const result = await runProgram(file, args, { env, timeoutMs, keepOutput: 0 });
  return result.timedOut || result.exitCode === null ? -1 : result.exitCode;
}

export async function systemdServiceActive(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await exitStatus("systemctl", ["is-active", "--quiet", "--", name], env)) === 0;
}

/** The most of a program's name the kernel keeps as its comm, which is what pgrep -x matches. */
const COMM_MAX = 15;

/**
 * `pgrep -x NAME` when pgrep is installed and NAME is shorter than comm holds, else the same match
 * over /proc/PID/comm. A comm of COMM_MAX characters may be a longer name cut short: the comm of a
 * `payments-worker-daemon` is `payments-worker`, so pgrep -x found a `payments-worker` (15) that
 * does not run, and never matched a name over 15 (it warned on stderr and found nothing). A name of
 * COMM_MAX characters or more is therefore matched in /proc: comm holding its first 15 characters
 * and the program's (or #! script's) whole name being NAME.
 */
export async function processRunning(unit: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const name = processName(unit);
  if (name.length < COMM_MAX && findOnPath("pgrep", env) !== undefined)
    return (await exitStatus("pgrep", ["-x", "--", name], env)) === 0;
  const wanted = name.slice(0, COMM_MAX);
  const pids = (await readdir("/proc").catch(() => [])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).replace(/\n$/, "");
    if (comm !== wanted) continue;
    // A shorter comm is a whole name; one of COMM_MAX characters may be cut, so the name is checked.
    if (comm.length < COMM_MAX || (await wholeName(pid, comm)) === name) return true;
  }
  return false;
}

/** Where a host without systemd keeps its services' SysV init scripts (`service NAME status`). */
export const INIT_SCRIPT_DIR = "/etc/init.d";

/**
 * A service that runs under another process name than its own (`postgresql` runs `postgres`, `ssh`
 * runs `sshd`, `mysql` runs `mysqld`): where no systemd runs, as in a container that starts it with
 * `service NAME start`, its init script answers for it, as `service NAME status` does (LSB: exit 0
 * is running). The seed's own `required_services: ["postgresql"]` failed there with PostgreSQL up.
 * Asked only when no process has the name. Resolves to undefined when there is no such script;
 * otherwise whether it runs and, when it does not, what the script answered: one that hung or
 * could not be run said nothing about the service, and was reported as saying "not running".
 */
export async function initScriptRunning(
  unit: string,
  env: NodeJS.ProcessEnv,
  dir = INIT_SCRIPT_DIR,
): Promise<{ running: true } | { running: false; answer: string } | undefined> {
  const name = processName(unit);
  // The name is a file name here: a "/" or ".." would lead out of the directory.
  if (name.includes("/") || name === "." || name === "..") return undefined;
  const script = `${dir}/${name}`;
  if (!existsSync(script)) return undefined;
  // A status that hangs in a command it started (not `exec`ed) is bounded too: run-program.ts.
  const result = await runProgram(script, ["status"], {
    env,
    timeoutMs: INIT_SCRIPT_TIMEOUT_MS,
    keepOutput: 0,
  });
  if (result.timedOut)
    return {
      running: false,
      answer: `${script} status gave no answer in ${INIT_SCRIPT_TIMEOUT_MS / 1000} s (killed)`,
    };
  if (result.spawnError?.code === "EACCES")
    return { running: false, answer: `${script} could not be run (not executable: chmod +x it)` };
  if (result.spawnError !== undefined)
    return {
      running: false,
      answer: `${script} could not be run (${result.spawnError.code ?? result.spawnError.message})`,
    };
  if (result.exitCode === 0) return { running: true };
  return { running: false, answer: `${script} status says it is not running` };
}

/** How long an init script's `status` may take, as the other probes here (exitStatus). */
const INIT_SCRIPT_TIMEOUT_MS = 10_000;

/** systemctl takes `nginx.service` as well as `nginx`; the process is `nginx` either way. */
function processName(unit: string): string {
  return unit.endsWith(".service") ? unit.slice(0, -".service".length) : unit;
}

/** How processRunning looks for `unit`, for messages. */
export function processSearch(unit: string): string {
  return processName(unit).length < COMM_MAX ? "pgrep -x" : "/proc: comm and the program's whole name";
}

/**
 * The whole name of the file process `pid` was started from, whose comm is `comm` (cut to 15).
 * The kernel sets comm from that file's name: for a program it is /proc/PID/exe (" (deleted)" when
 * an update replaced it since); for a script started through its #! line, exe is the interpreter,
 * and the script is the first argument after it (after the #! line's own argument, if any) whose
 * name starts with comm. Only then are arguments read, so `./payments-worker-daemon payments-worker`
 * is no `payments-worker`.
 */
async function wholeName(pid: string, comm: string): Promise<string | undefined> {
  const exe = basename((await readlink(`/proc/${pid}/exe`).catch(() => "")).replace(/ \(deleted\)$/, ""));
  if (exe.startsWith(comm)) return exe;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  // Another user's process may hide its exe from a non-root agent: then argv[0] may be the program.
  const words = cmdline.split("\0").filter((word) => word !== "");
  const candidates = exe === "" ? words.slice(0, 3) : words.slice(1, 3);
  return candidates.map((word) => basename(word)).find((word) => word.startsWith(comm));
}
