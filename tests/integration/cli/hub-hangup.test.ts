/**
 * `ship-hub serve` started by hand in an ssh session: the session drops, the hub gets SIGHUP and its
 * terminal fails every write with EIO. Node's default for SIGHUP ended the hub with the session,
 * its agents cut off mid-rollout. Now it goes on serving (as under nohup) and stops on SIGTERM,
 * which it did not either once its log had failed a write: the buffered log stream retried that
 * write for ever at exit (a reader of its output that left, `| head`, did the same). Real
 * `ship-hub serve`; a real terminal from util-linux `script`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_BIN, requireHubBin } from "../../support/hub-cli.js";
import { processRunning } from "../../support/process-alive.js";
import { freePort } from "../../support/servers/free-port.js";
import { waitFor } from "../../support/wait-for.js";

describe.skipIf(process.platform !== "linux")("ship-hub serve and a terminal that hangs up", () => {
  let root: string;
  let port: number;
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  beforeEach(async () => {
    requireHubBin();
    root = await mkdtemp(join(tmpdir(), "ship-hub-hangup-"));
    port = await freePort();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const pid of pids.splice(0)) if (processRunning(pid)) process.kill(pid, "SIGKILL");
    await rm(root, { recursive: true, force: true });
  });

  const until = (what: string, check: () => Promise<boolean>) =>
    waitFor(what, check, { timeoutMs: 20_000, intervalMs: 50, where: root });
  const healthy = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  const args = () => [HUB_BIN, "serve", "--data-dir", join(root, "data"), "--port", String(port)];

  it("goes on serving when its terminal hangs up, and stops on SIGTERM", async () => {
    const command = args()
      .map((a) => `"${a}"`)
      .join(" ");
    const terminal = spawn("script", ["-qfc", `"${process.execPath}" ${command}`, "/dev/null"], {
      stdio: "ignore",
      detached: true,
    });
    children.push(terminal);
    await until("the hub answers", healthy);
    const hub = await processWith(join(root, "data"));
    pids.push(hub);
    terminal.kill("SIGKILL");
    await until("the terminal gone", async () => !processRunning(terminal.pid ?? 0));

    // Before: the hub died with its terminal.
    await new Promise((r) => setTimeout(r, 1000));
    expect(processRunning(hub)).toBe(true);
    expect(await healthy()).toBe(true);
    // Before the log fix: the process spun at exit rewriting its failed log line to the terminal.
    process.kill(hub, "SIGTERM");
    await until("the hub stopped", async () => !processRunning(hub));
  });

  it("lets SIGHUP pass, a repeated one included, with one WARNING; SIGTERM still exits 0", async () => {
    const child = spawn(process.execPath, args(), { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await until("the hub answers", healthy);
    // The kernel's hangup, then the shell passing its own on to its jobs.
    child.kill("SIGHUP");
    child.kill("SIGHUP");
    await until("the SIGHUP line", async () => stderr.includes("SIGHUP"));
    expect(await healthy()).toBe(true);
    expect(
      stderr.match(/SIGHUP: the terminal hung up; ship-hub goes on serving \(stop it with SIGTERM\)/g),
    ).toHaveLength(1);
    child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
  });

  it("stops on SIGTERM after the reader of its output left (ship-hub serve 2>&1 | head)", async () => {
    const child = spawn(process.execPath, args(), { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await new Promise<void>((listening) =>
      child.stdout?.on("data", (d: Buffer) => {
        if (d.toString().includes("listening on")) listening();
      }),
    );
    // The reader goes, as `head -2` does after its lines: every later write fails with EPIPE.
    child.stdout?.destroy();
    child.stderr?.destroy();
    // Answering, the hub has its stop handlers (installed right after the "listening" line).
    await until("the hub answers", healthy);
    child.kill("SIGTERM");
    // Before: pino's exit flush retried the failed "shutting down" line for ever, at full CPU.
    const stopped = await Promise.race([
      exited,
      new Promise<"still running">((r) => setTimeout(() => r("still running"), 10_000)),
    ]);
    expect(stopped).toEqual({ code: 0, signal: null });
  });
});

/** The pid of the process whose command line names `dir` (the test's own data directory). */
async function processWith(dir: string): Promise<number> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").includes(dir) && cmdline.includes("serve")) return Number(entry);
  }
  throw new Error(`no process serves ${dir}`);
}
