/**
 * Whether a service runs on this host. systemd is asked when it is the init system (the
 * documented test is the directory /run/systemd/system, as sd_booted() does); in containers and
 * on other inits, the process table is searched for the name instead.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { basename } from "node:path";
import { findOnPath } from "./find-on-path.js";

export type ServiceProbe = "systemd" | "process-table";

export function systemdRunning(env: NodeJS.ProcessEnv = process.env, root = "/run/systemd/system"): boolean {
  return existsSync(root) && findOnPath("systemctl", env) !== undefined;
}

/** Exit status of a program run without a shell; -1 when it could not start or timed out. */
export function exitStatus(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 10_000,
): Promise<number> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs }, (error) => {
      if (error === null) resolve(0);
      else resolve(typeof error.code === "number" ? error.code : -1);
    });
  });
}

export async function systemdServiceActive(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await exitStatus("systemctl", ["is-active", "--quiet", "--", name], env)) === 0;
}

/** The most of a program's name the kernel keeps as its comm, which is what pgrep -x matches. */
const COMM_MAX = 15;

/**
 * `pgrep -x NAME` when pgrep is installed, else the same match over /proc/PID/comm. A name longer
 * than comm holds (`unattended-upgrades`, a `my-app-worker-daemon`) never matched with pgrep (it
 * warned on stderr and found nothing, so a running service read as stopped): it is matched in
 * /proc, comm holding its first 15 characters and the program's whole name being NAME.
 */
export async function processRunning(unit: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  // systemctl takes `nginx.service` as well as `nginx`; the process is `nginx` either way.
  const name = unit.endsWith(".service") ? unit.slice(0, -".service".length) : unit;
  if (name.length <= COMM_MAX && findOnPath("pgrep", env) !== undefined)
    return (await exitStatus("pgrep", ["-x", "--", name], env)) === 0;
  const wanted = name.slice(0, COMM_MAX);
  const pids = (await readdir("/proc").catch(() => [])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (comm.trim() !== wanted) continue;
    if (name.length <= COMM_MAX || (await programNames(pid)).includes(name)) return true;
  }
  return false;
}

/** How processRunning looks for `unit`, for messages. */
export function processSearch(unit: string): string {
  const name = unit.endsWith(".service") ? unit.slice(0, -".service".length) : unit;
  return name.length <= COMM_MAX ? "pgrep -x" : "/proc: comm and the program's name";
}

/**
 * The whole names a process may go by: its program file's, and its command line's first two words
 * (a script started through its #! line has the interpreter as argv[0] and itself as argv[1]).
 */
async function programNames(pid: string): Promise<string[]> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => "");
  return [exe, ...cmdline.split("\0").slice(0, 2)]
    .filter((word) => word !== "")
    .map((word) => basename(word));
}
