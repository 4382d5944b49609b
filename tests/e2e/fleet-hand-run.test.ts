/**
 * A ship run by hand on a host a hub manages (`ship --rollback` after a bad release, `ship
 * --recover`, a timer run left enabled): the hub showed what the agent announced at its last
 * connect until the daemon happened to reconnect, days later: 2.0.0 "updated" on a host back on
 * 1.0.0, which the next rollout then planned and a rollback instruction judged by.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../support/ship-cli.js";
import { APP, Fleet } from "./fleet.js";

interface AgentView {
  id: string;
  apps: { app: string; version: string | null; state: string }[];
}

describe("a ship run by hand on a host the hub manages (real hub, real agents)", () => {
  let fleet: Fleet;
  let release = "";
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 2 });
    release = await fleet.publish({ version: "2.0.0" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
      autoAdvance: true,
    });
    await fleet.waitFor("2.0.0 rolled out", async () => (await fleet.rollout(id)).state === "completed");
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const appOf = async (agentId: string) => {
    const { agents } = await fleet.api<{ agents: AgentView[] }>("GET", "/agents");
    return agents.find((a) => a.id === agentId)?.apps.find((a) => a.app === APP);
  };

  it("ship --rollback while the daemon stays connected: the hub shows the version restored, without a reconnect", {
    timeout: 90_000,
  }, async () => {
    const agent = fleet.agent(0);
    expect(await appOf(agent.id)).toMatchObject({ version: "2.0.0", state: "updated" });
    // The hub's own instruction is no change by hand: its reports told the hub, no hello again
    // (a check runs every second under SHIP_AGENT_FAST, 5 s by default; 2.5 s let at least two see
    // the update's result).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await readFile(join(agent.root, "agent.log"), "utf8")).not.toContain("changed outside the hub");
    const listed = await runShip(["--config", agent.configFile, "--list-backups", "--json"]);
    expect(listed.code).toBe(0);
    const backups = JSON.parse(listed.stdout) as { id: string; version: string | null }[];
    const backup = backups.find((b) => b.version === "1.0.0");
    expect(backup).toBeDefined();
    const restored = await runShip(["--config", agent.configFile, "--rollback", backup?.id ?? ""]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    await expect
      .poll(() => appOf(agent.id), { timeout: 45_000, interval: 250 })
      .toMatchObject({ version: "1.0.0", state: "rolled_back" });
    // The same connection: announced again, not reconnected.
    expect(agent.process?.exitCode).toBeNull();
    // The other host, untouched, still reads as it is.
    expect(await appOf(fleet.agent(1).id)).toMatchObject({ version: "2.0.0", state: "updated" });
  });

  it("a rollout of the release again then takes that host back to it (the hub knows it left)", {
    timeout: 90_000,
  }, async () => {
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
      autoAdvance: true,
    });
    await fleet.waitFor(
      "2.0.0 rolled out again",
      async () => (await fleet.rollout(id)).state === "completed",
    );
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    await expect
      .poll(() => appOf(fleet.agent(0).id), { timeout: 45_000, interval: 250 })
      .toMatchObject({ version: "2.0.0", state: "updated" });
  });
});
