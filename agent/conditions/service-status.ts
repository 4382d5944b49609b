/**
 * Whether a service runs on this host. systemd is asked when it is the init system (the
 * documented test is the directory /run/systemd/system, as sd_booted() does); in containers and
 * on other inits, the process table is searched for the name instead.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
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

/** `pgrep -x NAME` when pgrep is installed, else the same match over /proc/PID/comm. */
export async function processRunning(unit: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  // systemctl takes `nginx.service` as well as `nginx`; the process is `nginx` either way.
  const name = unit.endsWith(".service") ? unit.slice(0, -".service".length) : unit;
  if (findOnPath("pgrep", env) !== undefined)
    return (await exitStatus("pgrep", ["-x", "--", name], env)) === 0;
  // comm holds at most 15 characters, which is also what pgrep -x matches against.
  const wanted = name.slice(0, 15);
  const pids = (await readdir("/proc").catch(() => [])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (comm.trim() === wanted) return true;
  }
  return false;
}
