/**
 * A rollback instruction that timed out while its agent was away, and a later rollout of the app
 * that planned the agent since (real hub and agent processes): when the agent is back it is sent
 * only the later release, never the old rollback, so it ends on what the operator last rolled out
 * and the old rollout keeps counting it as a rollback not done, saying why.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("a rollback a later rollout overtook (real hub and agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    // Short enough to wait for the rollback's timeout, long enough for an update on a loaded machine.
    fleet = await Fleet.start({ agents: 1, hub: { progress_timeout_seconds: 8 } });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const stateOf = async (id: string) => (await fleet.rollout(id)).waves[0]?.agents[0];
  const everyone = [{ name: "all", percent: 100 }];

  it("the agent back gets the later release only; the old rollout says the rollback was not sent", {
    timeout: 120_000,
  }, async () => {
    // 1.1.0 from the hub first, so the hub knows a release to send the host back to.
    const base = await fleet.publish({ version: "1.1.0" });
    const r0 = await fleet.api<{ id: string }>("POST", "/rollouts", { release: base, waves: everyone });
    await fleet.waitFor("1.1.0 rolled out", async () => (await fleet.rollout(r0.id)).state === "completed");
    const first = await fleet.publish({ version: "1.2.0" });
    const r1 = await fleet.api<{ id: string }>("POST", "/rollouts", { release: first, waves: everyone });
    await fleet.waitFor("1.2.0 rolled out", async () => (await fleet.rollout(r1.id)).state === "completed");
    await fleet.stopAgent(0);
    await fleet.api("POST", `/rollouts/${r1.id}/abort`, { rollback: true });
    await fleet.waitFor(
      "rollback timed out",
      async () => (await stateOf(r1.id))?.state === "rollback_timed_out",
    );
    // The operator rolls forward instead while the host is still away.
    const second = await fleet.publish({ version: "1.3.0" });
    const r2 = await fleet.api<{ id: string }>("POST", "/rollouts", { release: second, waves: everyone });
    await fleet.startAgent(0);
    await fleet.waitFor("1.3.0 rolled out", async () => (await fleet.rollout(r2.id)).state === "completed");
    expect(await fleet.appVersion(0)).toBe("1.3.0");
    const old = await stateOf(r1.id);
    expect(old?.state).toBe("rollback_timed_out");
    expect(old?.error).toBe(`rollback not sent: a later rollout of the app (${r2.id}) took this agent over`);
    // The agent never heard of the old rollback.
    const log = await readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
    const received = log.split("\n").filter((l) => l.includes("instruction received"));
    expect(received.some((l) => l.includes('"rollback":true'))).toBe(false);
  });
});
