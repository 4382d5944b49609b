/**
 * The host's wall clock set back under a running hub (NTP stepping a clock that ran an hour ahead).
 * The per-agent minute budgets (reports, progress, messages, connects) counted their minute on the
 * wall clock: set back an hour, the minute under way lasted 61, and an agent that had used its
 * reports' allowance had every report refused for the hour ("more than N reports a minute"), its
 * deployments timing out meanwhile. A budget's minute is a minute of elapsed time now. Real hub
 * (in process) over real WebSocket; only the clocks are moved: the wall clock back an hour and the
 * elapsed one forward a minute, as 61 s with a step in them read.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { startTestHub, TestAgent, type TestHub } from "./support.js";

const wallClock = Date.now.bind(Date);
const elapsedClock = performance.now.bind(performance);
let wallShift = 0;
let elapsedShift = 0;
let t: TestHub;

beforeAll(async () => {
  vi.spyOn(Date, "now").mockImplementation(() => wallClock() + wallShift);
  vi.spyOn(performance, "now").mockImplementation(() => elapsedClock() + elapsedShift);
  t = await startTestHub({ maxReportsPerMinute: 3 });
});
afterAll(async () => {
  await t?.stop();
  vi.restoreAllMocks();
});

type Answer = Extract<HubMessage, { type: "ack" | "error" }>;

async function report(agent: TestAgent): Promise<Answer> {
  const reportId = randomUUID();
  const from = agent.received.length;
  agent.send({
    type: "report",
    reportId,
    app: "web",
    outcome: "succeeded",
    fromVersion: "1",
    toVersion: "2",
    steps: [],
  });
  return agent.next(
    (m): m is Answer =>
      agent.received.indexOf(m) >= from &&
      ((m.type === "ack" && m.reportId === reportId) ||
        (m.type === "error" && /reports a minute/.test(m.message))),
  );
}

describe("a wall clock set back under a running hub", () => {
  it("ends an agent's minute of reports after a minute, not after the step", {
    timeout: 30_000,
  }, async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("stepped"));
    agent.hello("stepped");
    for (let i = 0; i < 3; i++) expect((await report(agent)).type).toBe("ack");
    expect((await report(agent)).type).toBe("error");

    // A minute and a second pass; within them NTP sets the wall clock back an hour.
    elapsedShift += 61_000;
    wallShift += 61_000 - 3_600_000;
    expect((await report(agent)).type).toBe("ack");
    agent.ws.terminate();
  });
});
