/** Report ids are scoped per agent: a reused id from another agent is not a resend. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const report = (reportId: string, toVersion: string) => ({
  type: "report",
  reportId,
  app: "web",
  outcome: "succeeded",
  fromVersion: "1.0.0",
  toVersion,
  steps: [],
});

describe("report ids", () => {
  it("one agent reusing another's report id does not make the hub drop that agent's report", async () => {
    const shared = randomUUID();
    const attacker = await TestAgent.connect(t.hub.url, await t.agentToken("attacker"));
    attacker.hello("attacker");
    attacker.send(report(shared, "6.6.6"));
    await attacker.next(isType("ack"));

    const victim = await TestAgent.connect(t.hub.url, await t.agentToken("victim"));
    victim.hello("victim");
    victim.send(report(shared, "2.0.0"));
    await victim.next(isType("ack"));

    const shown = await t.api<{
      apps: { app: string; version: string }[];
      reports: { payload: { toVersion: string } }[];
    }>("GET", "/api/v1/agents/victim", { token: t.operator });
    expect(shown.body.reports.map((r) => r.payload.toVersion)).toEqual(["2.0.0"]);
    expect(shown.body.apps.find((a) => a.app === "web")?.version).toBe("2.0.0");
    // A resend from the same agent is still recognised as one.
    victim.send(report(shared, "2.0.0"));
    await victim.next(isType("ack"));
    expect(await t.hub.store.listReports("victim", 10)).toHaveLength(1);
    attacker.ws.close();
    victim.ws.close();
  });
});
