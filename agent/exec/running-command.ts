/**
 * The record of the manifest command an app is running right now, so a run that replaces a killed
 * one can end what the killed one started before it runs any command again. The record names the
 * command's process group and the start time of its leader: a pid the kernel gave to an unrelated
 * program since then must never be signalled.
 */
import { readdirSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { readRecordText } from "../state/record-file.js";
import { removeRecordFile } from "../tree/fs-ops.js";

const RunningCommand = z.object({
  /** The leader's pid, which is also the process group id (commands run in their own group). */
  pgid: z.number().int().positive(),
  /** The leader's start time in clock ticks after boot (/proc/PID/stat field 22), when readable. */
  startTime: z.string().nullable(),
  label: z.string(),
  /** The ship process that started it. */
  shipPid: z.number().int(),
  started: z.string(),
});
type RunningCommand = z.infer<typeof RunningCommand>;

/** Where an app's running command is recorded: its state directory, beside the journal. */
export function runningCommandFile(appStateDir: string): string {
  return join(appStateDir, "running-command.json");
}

/** Record the command whose group leader is `pgid`; throws when the record cannot be written. */
export async function recordRunningCommand(file: string, pgid: number, label: string): Promise<void> {
  const record: RunningCommand = {
    pgid,
    startTime: processStartTime(pgid),
    label,
    shipPid: process.pid,
    started: new Date().toISOString(),
  };
  await makeDirs(dirname(file));
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record)}\n`);
  await rename(tmp, file);
}

export async function clearRunningCommand(file: string): Promise<void> {
  await removeRecordFile(file);
}

export interface EndOptions {
  /** How long the group gets between SIGTERM and SIGKILL. */
  graceMs?: number;
}

/**
 * End the command a killed run left running: SIGTERM to its group, SIGKILL after the grace time,
 * and wait until no member is left. Returns what it did, for the log; throws when the group
 * survives SIGKILL (then no command may run: two copies of a hook would race).
 */
export async function endInterruptedCommand(
  file: string,
  log: Logger,
  options: EndOptions = {},
): Promise<string | undefined> {
  const record = await readRecord(file, log);
  if (record === undefined) return undefined;
  const verdict = ownership(record);
  if (verdict !== "ours") {
    await clearRunningCommand(file);
    return verdict === "reused"
      ? `${record.label} of a killed run is gone (its pid ${record.pgid} now belongs to another program, left alone)`
      : undefined;
  }
  log.warn("a command of a killed run is still running: ending it before any command runs again", {
    label: record.label,
    pgid: record.pgid,
    since: record.started,
  });
  signalGroup(record.pgid, "SIGTERM");
  if (!(await groupGone(record.pgid, options.graceMs ?? 5000))) {
    signalGroup(record.pgid, "SIGKILL");
    if (!(await groupGone(record.pgid, 5000))) {
      throw new Error(
        `${record.label} of a killed run (process group ${record.pgid}) survives SIGKILL; not running any command while it lives`,
      );
    }
  }
  await clearRunningCommand(file);
  return `ended ${record.label} (process group ${record.pgid}) left running by a killed run`;
}

async function readRecord(file: string, log: Logger): Promise<RunningCommand | undefined> {
  let text: string;
  try {
    text = await readRecordText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${file}: ${fsErrorText(error)}`);
  }
  try {
    return RunningCommand.parse(JSON.parse(text));
  } catch {
    // A run killed while writing the record wrote a temp file, never this one; still, do not crash on it.
    log.warn("ignoring an unreadable running-command record", { file });
    await clearRunningCommand(file);
    return undefined;
  }
}

/**
 * "ours" when the recorded group still has live members that are the killed run's: the leader with
 * the recorded start time, or — the leader gone — the members it left (Linux never hands out a pid
 * that is still some group's id, so that group cannot be anyone else's). "reused" when the leader's
 * pid now runs another program; "gone" when nothing is left.
 */
function ownership(record: RunningCommand): "ours" | "reused" | "gone" {
  const leaderStart = processStartTime(record.pgid);
  if (leaderStart !== null && record.startTime !== null && leaderStart !== record.startTime) {
    return "reused";
  }
  return groupAlive(record.pgid) ? "ours" : "gone";
}

/** Field 22 of /proc/PID/stat, or null off Linux or when the process is gone. */
function processStartTime(pid: number): string | null {
  const fields = statFields(pid);
  return fields?.[19] ?? null;
}

/** The fields of /proc/PID/stat after the command name: [0] is the state, [2] the group. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** A member that is not a zombie exists (zombies wait for a reaper and cannot run anything). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return true; // no /proc: trust kill(0)
  }
  return pids.some((pid) => {
    const fields = statFields(pid);
    return fields !== undefined && fields[2] === String(pgid) && fields[0] !== "Z" && fields[0] !== "X";
  });
}

async function groupGone(pgid: number, waitMs: number): Promise<boolean> {
  // Elapsed time: a wall clock set back an hour held a hung group's SIGKILL (and the run) for it.
  const deadline = performance.now() + waitMs;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(50);
  }
}
