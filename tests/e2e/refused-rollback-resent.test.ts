/**
 * A rollback instruction the agent refused (its app disabled in ship.toml when the operator aborted
 * with rollback) is asked again by the operator once the app is enabled (`abort --rollback` once
 * more), and the agent carries it out: the host goes back to the earlier release. An agent that
 * answered the second send from its record — the same refusal under its old reportId, dropped by
 * the hub as a resend — left the host on the bad release and the rollback pending until its
 * timeout. The rollout's answer to the second ask no longer counts the first refusal. Real hub,
 * real agent, real processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("a rollback the agent refused, asked again once its app is enabled (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const deployment = async (id: string) => (await fleet.rollout(id)).waves[0]?.agents[0];
  const setEnabled = (enabled: boolean) => fleet.setAppEnabled(0, enabled);
  const rolledOut = async (version: string) => {
    const id = await fleet.rolloutToAll(await fleet.publish({ version }));
    await fleet.waitFor(`${version} rolled out`, async () => (await fleet.rollout(id)).state === "completed");
    expect(await fleet.appVersion(0)).toBe(version);
    return id;
  };

  it("the second send of the rollback is carried out, not answered with the old refusal", {
    timeout: 120_000,
  }, async () => {
    await rolledOut("2.0.0");
    const id = await rolledOut("3.0.0");
    await fleet.stopAgent(0);
    await setEnabled(false);
    await fleet.startAgent(0);
    await fleet.api("POST", `/rollouts/${id}/abort`, { rollback: true });
    await fleet.waitFor("the rollback refused", async () => (await deployment(id))?.state === "failed");
    expect((await deployment(id))?.error).toContain("enabled = false");
    expect(await fleet.appVersion(0)).toBe("3.0.0");
    await fleet.stopAgent(0);
    await setEnabled(true);
    await fleet.startAgent(0);
    await fleet.waitFor(
      "the agent back",
      async () => (await fleet.api<{ online: boolean }>("GET", "/agents/agent-1")).online,
    );
    // The operator asks again. The earlier refusal is no longer the row's news: it was counted as
    // "answered that it failed or refused it" and as "not answered yet" at once, and listed as not
    // rolled back, while the instruction was out again.
    const again = await fleet.api<{ reason: string; notRolledBack: string[] }>(
      "POST",
      `/rollouts/${id}/abort`,
      { rollback: true },
    );
    expect(again.reason).not.toContain("refused it");
    expect(again.notRolledBack).toEqual([]);
    await fleet
      .waitFor("the host rolled back", async () => (await deployment(id))?.state === "rolled_back", 30_000)
      .catch(() => undefined);
    expect((await deployment(id))?.state).toBe("rolled_back");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
