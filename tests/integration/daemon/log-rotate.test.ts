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
  }, 40_000);
});
