/**
 * An agent connection renews its token at half its lifetime for as long as it stays connected.
 * What the hub keeps per live session to close it on revocation must not grow with each renewal:
 * on short tokens (an operator's `--ttl 1h`: 48 renewals a day per agent) a fleet connected for
 * months held millions of token ids, each looked through every second. Revocation of any token of
 * the family must still end the session. Real hub store (SQLite) and real tokens.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveSessions } from "../../../hub/auth/live-sessions.js";
import { memoryLogger } from "../../../shared/log.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

/** A session of `agentId` renewed `times` times (as the agent channel does), then once with a real renewal. */
async function longLivedSession(agentId: string, times: number) {
  const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
  const sessions = new LiveSessions(t.hub.store, memoryLogger(lines), Date.now, 60_000);
  const issued = await t.hub.tokens.issue({ role: "agent", agentId, ttlSeconds: 3600 });
  const closed: string[] = [];
  const session = sessions.open(
    { jti: issued.record.jti, expires: issued.record.expires, name: agentId },
    (reason) => closed.push(reason),
  );
  // Earlier renewals, expired and pruned since (they need no row: only the current one is checked).
  for (let i = 0; i < times; i++) session.renewed({ jti: randomUUID(), expires: issued.record.expires });
  const current = await t.hub.tokens.issue({
    role: "agent",
    agentId,
    ttlSeconds: 3600,
    renewedFrom: issued.record.jti,
  });
  session.renewed({ jti: current.record.jti, expires: current.record.expires });
  return { sessions, issued, current, closed, lines };
}

describe("a live session renewed many times", () => {
  it("keeps the token it started with and the current one, not every renewal; revoking the current one ends it", async () => {
    // An agent on 1-minute tokens renews every 30 s: 86,400 renewals in a month.
    const { sessions, issued, current, closed, lines } = await longLivedSession("long-lived", 86_400);
    await t.hub.tokens.revoke(current.record.jti);
    await sessions.check();
    expect(closed).toEqual(["token revoked"]);
    const line = lines.find((l) => l.msg === "closing a session whose token ended");
    // Without the bound: 86,402 ids, in memory for the connection's life and in this log line.
    expect(line?.data?.jtis).toEqual([issued.record.jti, current.record.jti]);
    sessions.stop();
  });

  it("revoking the token the operator issued still ends a session on its renewal", async () => {
    const { sessions, issued, closed } = await longLivedSession("renewed-agent", 10);
    await t.hub.tokens.revoke(issued.record.jti);
    await sessions.check();
    expect(closed).toEqual(["token revoked"]);
    sessions.stop();
  });
});
