/**
 * The fleet's app states after a report use the words of the agent's next hello. `rolled_back` in the fleet (GET /agents, `ship-hub agents`, the dashboard) means one thing: a
 * rollback someone asked for did what was asked. A failed update whose host put the previous
 * version back by itself (the report's outcome `rolled_back`) reads `failed_restored`, the word the
 * agent's hello uses for that same run. Before, both read `rolled_back`, so `?state=rolled_back`
 * mixed hosts an operator rolled back with hosts whose update failed, and the same failed host
 * changed its state from `rolled_back` to `failed_restored` at its next hello. Real hub, agents
 * over a real WebSocket, the real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

const connect = (t: TestHub, id: string) => session.connect(t, id);

type Listed = { agents: { id: string; apps: { app: string; version: string | null; state: string }[] }[] };

describe("rolled_back in the fleet", () => {
  it("a failed update its host restored reads failed_restored; a rollback asked for reads rolled_back", async () => {
    requireHubBin();
    const t = await session.start();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
    });
    const id = created.body.id;
    await reportAcked(a1, await a1.next(isDeploy), "rolled_back");
    await reportAcked(a2, await a2.next(isDeploy), "succeeded");
    // An update done reads as the agent's next hello will say it: updated (not `succeeded`).
    const updated = await t.api<Listed>("GET", "/api/v1/agents?state=updated", { token: t.operator });
    expect(updated.body.agents.map((a) => a.id)).toEqual(["a2"]);
    // The report's own word names the same hosts (it matched nothing once reports were stored as
    // `updated`: a script counting the hosts it updated read zero).
    const succeeded = await t.api<Listed>("GET", "/api/v1/agents?state=succeeded", { token: t.operator });
    expect(succeeded.body.agents.map((a) => a.id)).toEqual(["a2"]);
    // The operator takes 2.0.0 back: a2 is sent back to 1.0.0 and does it.
    const aborted = await t.api("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    const back = await a2.next(isDeploy);
    expect(back).toMatchObject({ rollback: true, release: { id: v1 } });
    await reportAcked(a2, { ...back, release: { ...back.release, version: "1.0.0" } }, "succeeded");

    const byState = async (state: string) =>
      (await t.api<Listed>("GET", `/api/v1/agents?state=${state}`, { token: t.operator })).body.agents.map(
        (a) => [a.id, a.apps.map((p) => `${p.app}@${p.version} ${p.state}`)],
      );
    expect(await byState("rolled_back")).toEqual([["a2", ["web@1.0.0 rolled_back"]]]);
    expect(await byState("failed_restored")).toEqual([["a1", ["web@1.0.0 failed_restored"]]]);

    const cli = await runHubCli(t.dir, ["agents", "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^a1 .*web@1\.0\.0 \(failed_restored\)$/m);
    expect(cli.stdout).toMatch(/^a2 .*web@1\.0\.0 \(rolled_back\)$/m);
  });

  it("a row stored before reports said `updated` reads `updated`, and either word finds it", async () => {
    requireHubBin();
    const t = await session.start();
    // As an older hub stored a report's outcome.
    await t.hub.store.upsertAgent({
      id: "old",
      hostname: "old",
      labels: {},
      agentVersion: "1",
      apps: [{ app: "web", version: "2.0.0", state: "succeeded" }],
      online: false,
      lastSeen: Date.now(),
    });
    for (const state of ["updated", "succeeded"]) {
      const listed = await t.api<Listed & { facets: { states: string[] } }>(
        "GET",
        `/api/v1/agents?state=${state}&facets=true`,
        { token: t.operator },
      );
      expect(listed.body.agents.map((a) => [a.id, a.apps[0]?.state])).toEqual([["old", "updated"]]);
      expect(listed.body.facets.states).toEqual(["updated"]);
    }
    const cli = await runHubCli(t.dir, ["agents", "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    expect(cli.stdout).toMatch(/^old .*web@2\.0\.0 \(updated\)$/m);
  });
});
