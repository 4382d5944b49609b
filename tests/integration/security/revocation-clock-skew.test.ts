/**
 * `ship-hub token revoke` stamps the revocation with the clock of the host it runs on: an admin box
 * writing a cluster's database (`--database-url`), or another hub of the cluster, whose clock runs
 * behind the serving hub's. Live sessions found revocations by that stamp, looking back 10 minutes
 * from the serving hub's clock, so a revocation stamped further back was never seen: the revoked
 * agent kept its WebSocket (and its reports acked) for as long as it stayed connected. Real hub,
 * real CLI (another process, its clock set back), real WebSocket.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, startTestHub, TestAgent, type TestHub } from "../hub/support.js";

const run = promisify(execFile);
const HUB_CLI = resolve("dist/hub/cli/main.js");

/** `ship-hub` run with its clock `behindMs` behind this host's (a preload that shifts Date.now). */
const cliBehind = (behindMs: number, args: string[]) =>
  run(process.execPath, [
    `--import=data:text/javascript,const n=Date.now;Date.now=()=>n()-${behindMs};`,
    HUB_CLI,
    ...args,
  ]);

const report = () => ({
  type: "report",
  reportId: randomUUID(),
  app: "web",
  outcome: "succeeded",
  fromVersion: "1.0.0",
  toVersion: "1.0.0",
  steps: [],
});

let t: TestHub;
beforeAll(async () => {
  if (!existsSync(HUB_CLI)) throw new Error(`${HUB_CLI} missing: build first (npm test does)`);
  t = await startTestHub({ sessionCheckMs: 200 });
});
afterAll(async () => {
  await t.stop();
});

/** An agent of `hub` connected on a fresh token, its first report acked. */
async function reportingAgent(hub: TestHub, agentId: string) {
  const { token, record } = await hub.hub.tokens.issue({ role: "agent", agentId, ttlSeconds: 3600 });
  const agent = await TestAgent.connect(hub.hub.url, token);
  agent.hello(agentId);
  const first = report();
  agent.send(first);
  expect(await agent.next(isType("ack"))).toMatchObject({ reportId: first.reportId });
  return { token, jti: record.jti, agent, first };
}

describe("token revoke from a host whose clock is behind the hub's", () => {
  it("closes the agent's live WebSocket all the same (15 minutes behind)", async () => {
    const { token, jti, agent } = await reportingAgent(t, "skewed");
    const closed = agent.closed();
    const { stdout } = await cliBehind(15 * 60_000, ["token", "revoke", jti, "--data-dir", t.dir]);
    expect(stdout).toContain(`revoked ${jti}`);
    // Without the fix the socket stays open and a later report is acked.
    const outcome = await Promise.race([
      closed,
      new Promise<{ code: string }>((r) => setTimeout(() => r({ code: "still open after 5 s" }), 5000)),
    ]);
    expect(outcome.code).toBe(4001);
    await expect(TestAgent.connect(t.hub.url, token)).rejects.toThrow(/401/);
  });

  it("refuses a message the session sends after the revocation, before the periodic check (a day behind)", async () => {
    const slow = await startTestHub({ sessionCheckMs: 600_000 });
    try {
      const { jti, agent, first } = await reportingAgent(slow, "skewed-now");
      await cliBehind(24 * 3600_000, ["token", "revoke", jti, "--data-dir", slow.dir]);
      const closed = agent.closed();
      agent.send(report());
      const outcome = await Promise.race([
        closed,
        agent.next(isType("ack"), 10_000).then((ack) => ({ code: `acked ${ack.reportId}` })),
      ]);
      expect(outcome.code).toBe(4001);
      const stored = await slow.hub.store.listReports("skewed-now", 10);
      expect(stored.map((r) => r.id)).toEqual([`skewed-now/${first.reportId}`]);
    } finally {
      await slow.stop();
    }
  });
});
