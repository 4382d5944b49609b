/** endInterruptedCommand with real processes: ends what is ours, never a pid that was reused. */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  endInterruptedCommand,
  recordRunningCommand,
  runningCommandFile,
} from "../../../agent/exec/running-command.js";
import { memoryLogger } from "../../../shared/log.js";
import { processRunning } from "../../support/process-alive.js";
import { steppedClocks } from "../../support/stepped-clocks.js";

let dir: string;
const started: number[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-running-"));
});
afterEach(async () => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

const alive = processRunning;

/** `sh -c script` as the leader of its own process group, as runCommand starts commands. */
function group(script: string): number {
  const child = spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  if (child.pid === undefined) throw new Error("no pid");
  started.push(child.pid);
  return child.pid;
}

/** Polls `check` until it holds: the wait is for the event, and the test's own limit is the bound. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(20);
}

/**
 * A group whose leader ignores TERM, once its trap is set: a fixed 100 ms for that could pass on a
 * loaded machine before the shell ran, and TERM then ended it at once (no KILL was ever needed).
 */
async function ignoringTerm(): Promise<number> {
  const ready = join(dir, "trap-set");
  const pid = group(`trap '' TERM; : > ${ready}; sleep 600 & wait`);
  await until(() =>
    stat(ready).then(
      () => true,
      () => false,
    ),
  );
  return pid;
}

describe.skipIf(process.platform !== "linux")("endInterruptedCommand", () => {
  it("ends the recorded group (TERM, then KILL for a command that ignores TERM) and clears the record", async () => {
    const pid = await ignoringTerm();
    const file = runningCommandFile(dir);
    await recordRunningCommand(file, pid, "pre_update hook[0]");
    const detail = await endInterruptedCommand(file, memoryLogger([]), { graceMs: 300 });
    expect(detail).toMatch(/ended pre_update hook\[0\]/);
    expect(alive(pid)).toBe(false);
    await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
  });

  // The grace time was counted on the wall clock: set back an hour meanwhile (NTP), a command that
  // ignores SIGTERM got its SIGKILL an hour late, and the run waited for it.
  it("sends SIGKILL after the grace time though the wall clock is set back an hour meanwhile", async () => {
    const pid = await ignoringTerm();
    const file = runningCommandFile(dir);
    await recordRunningCommand(file, pid, "pre_update hook[0]");
    const shift = steppedClocks();
    try {
      const ending = endInterruptedCommand(file, memoryLogger([]), { graceMs: 300 });
      await sleep(100);
      shift.wall = -3_600_000;
      // The wait for the end is the event's; 30 s only bounds an hour's wait (10 s was within a
      // loaded machine's reach).
      const late = sleep(30_000).then(() => "still waiting after 30 s");
      expect(await Promise.race([ending, late])).toMatch(/ended pre_update hook\[0\]/);
      expect(alive(pid)).toBe(false);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("ends members a dead leader left in the group", async () => {
    const marker = join(dir, "child-pid");
    const pid = group(`sleep 600 & echo $! > ${marker}; exit 0`);
    const file = runningCommandFile(dir);
    await recordRunningCommand(file, pid, "migration 2.0.0[0]");
    // Awaited, not 100 polls: on a loaded machine those could end before the shell wrote the pid
    // (NaN for the orphan) or exited (a live leader is ended the ordinary way).
    let orphan = Number.NaN;
    await until(async () => {
      orphan = Number.parseInt(await readFile(marker, "utf8").catch(() => ""), 10);
      return !Number.isNaN(orphan);
    });
    await until(() => !alive(pid));
    expect(alive(orphan)).toBe(true);
    expect(await endInterruptedCommand(file, memoryLogger([]))).toMatch(/ended migration/);
    expect(alive(orphan)).toBe(false);
  });

  it("leaves a live process alone when its start time is not the recorded one (pid reused)", async () => {
    const pid = group("sleep 600");
    const file = runningCommandFile(dir);
    await recordRunningCommand(file, pid, "pre_update hook[0]");
    const record = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...record, startTime: "1" }));
    const detail = await endInterruptedCommand(file, memoryLogger([]));
    expect(detail).toMatch(/belongs to another program, left alone/);
    expect(alive(pid)).toBe(true);
    await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("nothing recorded, or the group already gone: nothing to do", async () => {
    const file = runningCommandFile(dir);
    expect(await endInterruptedCommand(file, memoryLogger([]))).toBeUndefined();
    const pid = group("exit 0");
    await recordRunningCommand(file, pid, "cleanup[0]");
    await until(() => !alive(pid));
    expect(await endInterruptedCommand(file, memoryLogger([]))).toBeUndefined();
  });
});
