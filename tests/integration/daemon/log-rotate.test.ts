/**
 * logrotate moves `[general.logging] file` aside and tells the daemon with SIGHUP (`postrotate
 * systemctl kill -s HUP ship-agent`). Node's default for SIGHUP ended `ship agent` at once, an
 * update in progress included, and nothing reopened the file: the agent, running for weeks, kept
 * writing into the rotated one. Real CLI; the hub is a closed port (the agent reconnects).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { waitFor } from "../../support/wait-for.js";

const closedPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

describe("ship agent and a rotated log file", () => {
  let root: string;
  let agent: ChildProcess | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-log-rotate-"));
  });
  afterEach(async () => {
    agent?.kill("SIGKILL");
    await rm(root, { recursive: true, force: true });
  });

  it("keeps running on SIGHUP and writes to the file by its name again", async () => {
    await mkdir(join(root, "app"));
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    const log = join(root, "ship.log");
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n[general.logging]\nfile = "${log}"\n\n[hub]\nurl = "http://127.0.0.1:${await closedPort()}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\n\n[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
    );
    agent = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], { stdio: "ignore" });
    const exited = new Promise<string>((resolve) =>
      agent?.once("exit", (code, signal) => resolve(`exit ${code} ${signal}`)),
    );
    const until = (what: string, check: () => Promise<boolean>) =>
      waitFor(what, check, { timeoutMs: 15_000, intervalMs: 50, where: root });
    await until("agent started", async () => (await readFile(log, "utf8")).includes("agent started"));
    await rename(log, `${log}.1`);
    agent.kill("SIGHUP");
    const after = await Promise.race([
      until("a line in the new log file", async () =>
        (await readFile(log, "utf8").catch(() => "")).includes("SIGHUP: log file reopened"),
      ).then(() => "reopened"),
      exited,
    ]);
    expect(after).toBe("reopened");
    // The agent goes on: its reconnect lines reach the new file too.
    await until("a reconnect line in the new file", async () =>
      (await readFile(log, "utf8")).includes("reconnecting"),
    );
    expect(agent.exitCode).toBeNull();
    agent.kill("SIGTERM");
    expect(await exited).toBe("exit 0 null");
  });

  /**
   * The disk under the log file filled (another program's logs) while `ship agent` ran: the logger
   * fell silent at the first failed write and stayed so until a restart — SIGHUP (logrotate)
   * included. Now every line is tried: one warning when the outage starts, the log going on by
   * itself once there is room, and one line saying so. A real tmpfs filled for real.
   */
  it("writes its log again, without a restart, once the full disk under it has room", async (ctx) => {
    const logs = join(root, "logs");
    await mkdir(logs);
    if (!mountTmpfs(logs, "64k")) return ctx.skip();
    try {
      await mkdir(join(root, "app"));
      await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
      const log = join(logs, "ship.log");
      const config = join(root, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n[general.logging]\nfile = "${log}"\n\n[hub]\nurl = "http://127.0.0.1:${await closedPort()}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\nreconnect_max_seconds = 1\n\n[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
      );
      const running = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      agent = running;
      let stderr = "";
      running.stderr?.on("data", (data: Buffer) => {
        stderr += data.toString();
      });
      const until = (what: string, check: () => Promise<boolean>) =>
        waitFor(what, check, { timeoutMs: 20_000, intervalMs: 50, where: `${root}; stderr: ${stderr}` });
      await until("agent started", async () => (await readFile(log, "utf8")).includes("agent started"));
      // Fill the disk: the write that does not fit fails, leaving it full.
      await writeFile(join(logs, "fill"), Buffer.alloc(128 * 1024)).catch(() => undefined);
      await until("the warning", async () => stderr.includes("cannot be written"));
      await rm(join(logs, "fill"));
      const before = (await readFile(log, "utf8")).length;
      await until("a reconnect line after the disk has room", async () =>
        (await readFile(log, "utf8")).slice(before).includes("reconnecting"),
      );
      expect(running.exitCode).toBeNull();
      const said = stderr.split("\n").filter((line) => line.includes(log));
      expect(said).toHaveLength(2);
      expect(said[0]).toBe(
        `ship: warning: ${log} ([general.logging] file) cannot be written: no space left on device (ENOSPC); log lines are dropped until it can be written again`,
      );
      expect(said[1]).toMatch(
        new RegExp(
          `^ship: ${log} \\(\\[general\\.logging\\] file\\) is written again; \\d+ log lines? (was|were) dropped meanwhile$`,
        ),
      );
      // A line the full disk cut is ended apart: the next one is not run into it.
      expect((await readFile(log, "utf8")).split("\n").filter((line) => line.includes("}{"))).toEqual([]);
    } finally {
      const running = agent;
      agent = undefined;
      if (running && running.exitCode === null && running.signalCode === null) {
        const gone = new Promise((resolve) => running.once("exit", resolve));
        running.kill("SIGKILL");
        await gone;
      }
      unmountTmpfs(logs);
    }
  });
});
