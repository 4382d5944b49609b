/**
 * A `command(...)` condition or an environment check that leaves something running in its group
 * (`./probe-server &`) is ended with it, as hooks are (run-command.ts): under `ship agent` nothing
 * ends it later, and each run or hub instruction left one more behind, holding the app directory.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShell } from "../../../agent/conditions/run-shell.js";
import { waitFor } from "../../support/wait-for.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-run-shell-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Gone, or a zombie waiting for init to reap it: either way it runs nothing. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("runShell", () => {
  it("ends what the command left running in its group when it exits", async () => {
    const result = await runShell("sleep 60 >/dev/null 2>&1 & echo $!", { cwd: dir, timeoutMs: 10_000 });
    expect(result.ok).toBe(true);
    const pid = Number(result.output);
    expect(pid).toBeGreaterThan(0);
    try {
      await waitFor("the backgrounded sleep ended", async () => !isAlive(pid), {
        timeoutMs: 5000,
        intervalMs: 50,
        where: "the process table",
      });
    } finally {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  // Node throws ENOTDIR from spawn rather than emitting it: the check's promise rejected, past the
  // "could not start" every caller words.
  it("answers a working directory that is a file as a failed start naming it", async () => {
    const file = join(dir, "app");
    await writeFile(file, "");
    const result = await runShell("true", { cwd: file, timeoutMs: 10_000 });
    expect(result.ok).toBe(false);
    expect(result.spawnError).toBe(`its working directory ${file} is not a directory`);
  });

  // Each read was decoded alone: a "€" the command wrote in two writes read as two U+FFFD.
  it("keeps a character written across two reads whole", async () => {
    const result = await runShell("printf '\\342\\202'; sleep 0.3; printf '\\254 down\\n'; exit 1", {
      cwd: dir,
      timeoutMs: 10_000,
    });
    expect(result.output).toBe("€ down");
  });

  it("still answers by the command's exit status", async () => {
    expect((await runShell("exit 3", { cwd: dir, timeoutMs: 10_000 })).exitCode).toBe(3);
    expect((await runShell("true", { cwd: dir, timeoutMs: 10_000, keepOutput: 0 })).ok).toBe(true);
  });
});
