/**
 * `systemctl stop ship.service` sends SIGTERM to a timer run. The running source's update must
 * finish (its hook is not cut short), no further source starts, and the exit says the run was
 * stopped (143), not done; the next run, without --force, updates what was left.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
import { letHooksEnd, slowHookSources } from "./slow-hook-sources.js";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function waitForFile(path: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await exists(path))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await sleep(25);
  }
}

/** Until the run's stderr says `text`; no deadline of its own (the test's is the bound). */
async function waitForOutput(
  run: { child: ChildProcess; stderr: () => string },
  text: string,
): Promise<void> {
  while (!run.stderr().includes(text)) {
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      throw new Error(`the run ended without saying "${text}": ${run.stderr()}`);
    await sleep(25);
  }
}

function started(args: string[]): {
  child: ChildProcess;
  /** What the run has written to stderr so far. */
  stderr: () => string;
  done: Promise<{ code: number | null; signal: string | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [SHIP_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, stderr: () => stderr, done };
}

describe.skipIf(process.platform !== "linux")("ship stopped by SIGTERM during a slow hook", () => {
  let root: string;
  let config: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-stop-"));
    // The first source's hook says it started, takes a while, then says it finished.
    config = await slowHookSources(root, { hook: "pre_update", general: "min_interval_hours = 24\n" });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("finishes the running source's update, starts no other, exits 143, and the next run does the rest", async () => {
    const run = started(["--config", config]);
    await waitForFile(join(root, "hook-started-first"));
    run.child.kill("SIGTERM");
    await letHooksEnd(root);
    const result = await run.done;

    expect(result.signal).toBeNull();
    expect(result.code).toBe(143);
    expect(result.stderr).toContain("stopped by SIGTERM: not started: second (unchanged)");
    // The hook ran to its end and the update it belonged to went in.
    expect(await exists(join(root, "hook-done-first"))).toBe(true);
    expect(await readFile(join(root, "app-first/app.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(root, "app-second/app.txt"), "utf8")).toBe("v1\n");
    expect(await exists(join(root, "hook-started-second"))).toBe(false);

    // The stopped run is not the day's run: the next one (no --force) updates the second source.
    const next = await runShip(["--config", config]);
    expect(next.stderr + next.stdout).not.toContain("ran less than");
    expect(next.code).toBe(0);
    expect(await readFile(join(root, "app-second/app.txt"), "utf8")).toBe("v2\n");
  }, 60_000);

  it("a stop during the last source's update finishes it, says the signal was heard, and exits as the update did", async () => {
    const run = started(["--config", config, "--sources", "first"]);
    await waitForFile(join(root, "hook-started-first"));
    run.child.kill("SIGTERM");
    await letHooksEnd(root);
    const result = await run.done;

    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("SIGTERM received during the run: it was finished first");
    expect(result.stderr).not.toContain("not started");
    expect(await readFile(join(root, "app-first/app.txt"), "utf8")).toBe("v2\n");
    expect(await exists(join(root, "hook-done-first"))).toBe(true);
  }, 60_000);

  it("a second SIGTERM exits at once with 143, not 0, and the next run recovers", async () => {
    const run = started(["--config", config]);
    await waitForFile(join(root, "hook-started-first"));
    run.child.kill("SIGTERM");
    // The second signal once the first was heard: sent a fixed 200 ms later, both could still be
    // pending in the kernel while a loaded machine had not run the process, and pending signals of
    // one kind are delivered once: the run then saw a single SIGTERM and finished the update.
    await waitForOutput(run, "SIGTERM: stopping after the running source's update");
    run.child.kill("SIGTERM");
    const result = await run.done;
    expect(result.code).toBe(143);
    expect(result.stderr).toContain("second signal (SIGTERM): exiting now");
    expect(await exists(join(root, "hook-done-first"))).toBe(false);
    await letHooksEnd(root);

    const next = await runShip(["--config", config]);
    expect(next.code).toBe(0);
    expect(await readFile(join(root, "app-first/app.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(root, "app-second/app.txt"), "utf8")).toBe("v2\n");
  }, 60_000);
});
