/**
 * `ship` started by hand over ssh, and the session drops mid-update: the kernel sends SIGHUP, and
 * the terminal (or ssh's pipes) is gone. Node's default for SIGHUP, a log line that threw EIO out
 * of its write, or stdout's EPIPE quiet exit ended the run mid-step, the app half-installed until
 * the next run undid it. The run must go on to its end, as under nohup.
 */
import { spawn, spawnSync } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { type LocalApp, localApp } from "./local-app.js";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const waitForFile = (path: string) =>
  waitFor(path, () => exists(path), { timeoutMs: 30_000, intervalMs: 25, where: "the app's root" });

describe.skipIf(process.platform !== "linux")("a ship run whose terminal hangs up mid-update", () => {
  let app: LocalApp;
  let logFile: string;
  beforeEach(async () => {
    app = await localApp();
    logFile = join(app.root, "ship.log");
    await app.release(
      "v2",
      [
        'version: "2.0.0"',
        "hooks:",
        "  pre_update:",
        // Until the test has hung up (60 s at most): a fixed `sleep 2` was the window for it.
        `    - command: "touch ${app.root}/hook-started; for i in $(seq 1200); do [ -e ${app.root}/go ] && break; sleep 0.05; done"`,
        "  post_update:",
        `    - command: "touch ${app.root}/post-update-ran"`,
        "",
      ].join("\n"),
      { "app.txt": "v2\n" },
    );
  });
  afterEach(() => app.cleanup());

  async function expectUpdated(): Promise<void> {
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await exists(join(app.root, "post-update-ran"))).toBe(true);
    const state = await app.state();
    expect(state.sources.myapp).toMatchObject({ current_version: "2.0.0", last_result: "updated" });
    expect(state.sources.myapp?.pending_update ?? null).toBeNull();
  }

  it("SIGHUP with stdout and stderr pipes closed: the update goes in, exit 0, the log file says so", async () => {
    const config = await readFile(app.config, "utf8");
    await writeFile(app.config, `${config}\n[general.logging]\nfile = "${logFile}"\n`);
    const child = spawn(process.execPath, [SHIP_BIN, "--config", app.config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await waitForFile(join(app.root, "hook-started"));
    // ssh without a terminal: its pipes close; the login shell passes a SIGHUP on as well.
    child.stdout.destroy();
    child.stderr.destroy();
    child.kill("SIGHUP");
    child.kill("SIGHUP");
    await writeFile(join(app.root, "go"), "");

    expect(await done).toEqual({ code: 0, signal: null });
    await expectUpdated();
    const log = await readFile(logFile, "utf8");
    expect(log.match(/SIGHUP: the terminal hung up; this run goes on to its end/g)).toHaveLength(1);
  });

  it("SIGHUP with stdout and stderr pipes closed and no log file: the log's writes are dropped, exit 0", async () => {
    const child = spawn(process.execPath, [SHIP_BIN, "--config", app.config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await waitForFile(join(app.root, "hook-started"));
    // The log goes to stderr here: its next line meets the closed pipe (EPIPE).
    child.stdout.destroy();
    child.stderr.destroy();
    child.kill("SIGHUP");
    await writeFile(join(app.root, "go"), "");

    expect(await done).toEqual({ code: 0, signal: null });
    await expectUpdated();
  });

  it.skipIf(!hasProgram("script"))(
    "in a real terminal that goes away (script's pty closed): the update goes in",
    async () => {
      // script gives ship a pty; killing script closes its master side: the kernel hangs the
      // terminal up (SIGHUP to its processes) and every later write to it fails with EIO.
      const rc = join(app.root, "rc");
      const term = spawn(
        "script",
        [
          "-qfc",
          `'${process.execPath}' '${SHIP_BIN}' --config '${app.config}'; echo $? > '${rc}'`,
          "/dev/null",
        ],
        { stdio: ["ignore", "ignore", "ignore"] },
      );
      await waitForFile(join(app.root, "hook-started"));
      term.kill("SIGKILL");
      await writeFile(join(app.root, "go"), "");
      // The run has no parent to tell its exit to now: wait for the process itself to end (its
      // state is recorded before its last clean-up, which the test's own clean-up raced).
      const running = () =>
        spawnSync("pgrep", ["-f", "--", `--config ${app.config}`], { stdio: "ignore" }).status === 0;
      const deadline = Date.now() + 45_000;
      while (running() && Date.now() < deadline) await sleep(50);
      expect(running()).toBe(false);
      await expectUpdated();
    },
  );
});
