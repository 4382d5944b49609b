/**
 * A manual `ship --force` in an ssh session that drops: the terminal hangs up, ship gets SIGHUP and
 * every write to the terminal fails with EIO. Node's default for SIGHUP ended ship mid-update, and
 * the next log line would have crashed it too: the new files stayed in unverified (the post_update
 * hook, which starts the app again, never ran) until the next run's recovery, a day later by the
 * timer. Now the run goes on to its end, as asked (as under nohup), its output to the terminal dropped.
 * Real CLI; a real terminal from util-linux `script`, hung up by killing it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { letHooksEnd, slowHookSources } from "./slow-hook-sources.js";

describe.skipIf(process.platform !== "linux")("ship and a terminal that hangs up mid-update", () => {
  let root: string;
  let config: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-hangup-"));
    // The post_update hook (the seed's `systemctl start myapp`) is what a dropped session cut off.
    config = await slowHookSources(root, { hook: "post_update" });
  });
  /** ship under the hung-up terminal: no child of this process, so awaited by its pid. */
  const orphans: number[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    // A ship still running writes into root while it is removed (ENOTEMPTY on a loaded machine).
    for (const pid of orphans.splice(0)) {
      if (await exited(pid)) continue;
      process.kill(pid, "SIGKILL");
      await waitFor("the orphaned ship to end", () => exited(pid), {
        timeoutMs: 10_000,
        intervalMs: 20,
        where: root,
      });
    }
    await rm(root, { recursive: true, force: true });
  });

  const until = (what: string, check: () => Promise<boolean>) =>
    waitFor(what, check, { timeoutMs: 20_000, intervalMs: 50, where: root });
  const state = async () =>
    JSON.parse(await readFile(join(root, "var/state.json"), "utf8")) as {
      sources: Record<string, Record<string, unknown>>;
    };

  const updated = async (name: string) => {
    const entry = (await state()).sources[name];
    return entry?.last_result === "updated" && entry.pending_update === undefined;
  };

  it("goes on to the end of the run when its terminal hangs up", async () => {
    // ship's stdout and stderr are the terminal.
    // `exec`: the shell script(1) starts becomes ship, so ship is script's child, found by its pid.
    const command = `exec "${process.execPath}" "${SHIP_BIN}" --config "${config}" --force`;
    const terminal = spawn("script", ["-qfc", command, "/dev/null"], { stdio: "ignore", detached: true });
    children.push(terminal);
    await until("the first hook started", () => pathExists(join(root, "hook-started-first")));
    const ship = await childOf(terminal.pid as number);
    orphans.push(ship);
    terminal.kill("SIGKILL");
    await letHooksEnd(root);

    // Before: ship died with the terminal, leaving 2.0.0's files unverified and the hook's work undone.
    await until("both sources updated", async () => (await updated("first")) && (await updated("second")));
    // To the end of the run: the process ends by itself (its last writes come after the state's).
    await until("ship ended by itself", () => exited(ship));
    for (const name of ["first", "second"]) {
      expect(await pathExists(join(root, `hook-done-${name}`))).toBe(true);
      expect(await readFile(join(root, `app-${name}`, "app.txt"), "utf8")).toBe("v2\n");
    }
  });

  it("lets SIGHUP pass, a repeated one included: the run ends as without it, exit 0", async () => {
    const run = spawn(process.execPath, [SHIP_BIN, "--config", config, "--force"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(run);
    let stderr = "";
    run.stderr?.on("data", (d) => {
      stderr += d;
    });
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      run.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await until("the first hook started", () => pathExists(join(root, "hook-started-first")));
    // The kernel's hangup, then the shell passing its own on to its jobs.
    run.kill("SIGHUP");
    run.kill("SIGHUP");
    await letHooksEnd(root);
    expect(await done).toEqual({ code: 0, signal: null });
    expect(stderr.match(/SIGHUP: the terminal hung up; this run goes on to its end/g)).toHaveLength(1);
    expect(await updated("first")).toBe(true);
    expect(await updated("second")).toBe(true);
  });
});

/** The one child process of `pid` (Linux /proc). */
async function childOf(pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim().split(/\s+/);
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

/** Gone, or a zombie nobody reaped yet (an orphan's new parent may be slow to). */
async function exited(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat === undefined || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}
