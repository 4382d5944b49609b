/** The hub keeps reports by count per agent and by age, so one agent token cannot fill its disk. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
let clock = Date.now();
beforeAll(async () => {
  t = await startTestHub({
    now: () => clock,
    reportRetention: { keepPerAgent: 3, keepMs: 3_600_000, everyMs: 50 },
  });
});
afterAll(async () => {
  await t.stop();
});

async function sendReports(agent: TestAgent, versions: string[]): Promise<void> {
  for (const toVersion of versions) {
    const reportId = randomUUID();
    agent.send({
      type: "report",
      reportId,
      app: "web",
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion,
      steps: [],
    });
    await agent.next(
      (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );
    clock += 1000;
  }
}

const kept = (agentId: string) =>
  t.hub.store.listReports(agentId, 100).map((r) => (r.payload as { toVersion: string }).toVersion);

describe("report retention", () => {
  it("keeps each agent's newest reports up to the count, and drops reports past the age", async () => {
    const noisy = await TestAgent.connect(t.hub.url, t.agentToken("noisy"));
    noisy.hello("noisy");
    const quiet = await TestAgent.connect(t.hub.url, t.agentToken("quiet"));
    quiet.hello("quiet");
    await sendReports(quiet, ["q1"]);
    await sendReports(noisy, ["1", "2", "3", "4", "5", "6"]);
    await expect.poll(() => kept("noisy")).toEqual(["6", "5", "4"]);
    expect(kept("quiet")).toEqual(["q1"]);

    clock += 2 * 3_600_000;
    await expect.poll(() => [...kept("noisy"), ...kept("quiet")]).toEqual([]);
    noisy.ws.close();
    quiet.ws.close();
  });
});
