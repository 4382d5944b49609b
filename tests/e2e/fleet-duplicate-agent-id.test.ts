/**
 * Two hosts with one agent id (a VM cloned with its /etc/machine-id, the default agent_id): the hub
 * keeps the newer connection and closes the other (4000 "replaced by a newer connection"). Each
 * agent used to log "hub connection closed; reconnecting" at INFO and take the other's place again
 * within 100 ms, for ever. Now the replaced agent says why in a WARNING and backs off. Real hub,
 * real agent processes.
 */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Fleet, stopProcess } from "./fleet.js";

const SHIP_MAIN = resolve("dist/agent/cli/main.cjs");

describe("two agents with one agent id (real hub)", () => {
  let fleet: Fleet;
  beforeEach(async () => {
    fleet = await Fleet.start({ agents: 1 });
  });
  afterEach(async () => {
    await fleet?.close();
  });

  it("the replaced one says why (a WARNING naming [hub] agent_id) and backs off", {
    timeout: 60_000,
  }, async () => {
    const original = fleet.agent(0);
    // The clone: the same agent id and token, its own state directory, default reconnect cap.
    const clone = join(fleet.dir, "clone");
    await mkdir(clone, { recursive: true });
    const toml = (await readFile(original.configFile, "utf8"))
      .replaceAll(join(original.root, "state"), join(clone, "state"))
      .replaceAll(join(original.root, "work"), join(clone, "work"))
      .replace("reconnect_max_seconds = 1\n", "");
    await writeFile(join(clone, "ship.toml"), toml);
    const logFile = join(clone, "agent.log");
    const log = openSync(logFile, "a");
    const child = spawn(process.execPath, [SHIP_MAIN, "agent", "--config", join(clone, "ship.toml")], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, SHIP_AGENT_FAST: "1" },
    });
    try {
      await fleet.waitFor("the clone replaced once", async () =>
        (await readFile(logFile, "utf8")).includes("replaced by a newer connection"),
      );
      const replacedAt = Date.now();
      await new Promise((r) => setTimeout(r, 8000));
      const lines = (await readFile(logFile, "utf8")).split("\n");
      const warning = lines.find((l) => l.includes("replaced by a newer connection"));
      expect(warning).toContain('"level":40');
      expect(warning).toContain("another connection with this agent's id took over");
      expect(warning).toContain("[hub] agent_id");
      // Before: it reconnected within 100 ms of every replacement (dozens of times in 8 s).
      const connects = lines.filter((l) => l.includes('"msg":"connected to hub"'));
      const since = connects.filter((l) => Number(/"time":(\d+)/.exec(l)?.[1]) > replacedAt);
      expect(since.length, `${since.length} reconnects in 8 s`).toBeLessThanOrEqual(3);
    } finally {
      await stopProcess(child, "SIGKILL");
    }
  });
});
