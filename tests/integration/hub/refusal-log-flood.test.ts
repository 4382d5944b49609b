/**
 * Refused agent connections are logged with the agent id the token claims, once a minute per id
 * and reason. The id is read from a token the hub refused, so a client can claim a new one on
 * every attempt: the log must still take only a bounded number of lines a minute, and say how many
 * it left out. Real hub (in process), real WebSocket upgrades.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { REFUSAL_LINES_PER_MINUTE } from "../../../hub/ws/refusals.js";
import { memoryLogger } from "../../../shared/log.js";
import { steppedClocks } from "../../support/stepped-clocks.js";
import { startTestHub, type TestHub } from "./support.js";

/** A JWT-shaped token claiming `sub`, signed with nothing the hub knows. */
const forged = (sub: string) =>
  [
    "eyJhbGciOiJIUzI1NiJ9",
    Buffer.from(JSON.stringify({ sub, role: "agent" })).toString("base64url"),
    "x",
  ].join(".");

/** One upgrade with `token`; resolves with the refusal's HTTP status. */
const attempt = (url: string, token: string) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", () => resolve(0));
    ws.on("open", () => {
      resolve(101);
      ws.terminate();
    });
  });

describe("refused agent connections in the hub's log", () => {
  const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
  let t: TestHub;
  let clock = Date.now();
  beforeAll(async () => {
    t = await startTestHub({ log: memoryLogger(lines), now: () => clock });
  });
  afterAll(async () => {
    await t?.stop();
  });
  const refusalLines = () => lines.filter((l) => l.msg === "refused an agent connection");

  it("a client claiming a new agent id per attempt gets a bounded number of lines a minute, and a count of the rest", async () => {
    const attempts = REFUSAL_LINES_PER_MINUTE * 3;
    for (let i = 0; i < attempts; i += 25) {
      const batch = Array.from({ length: Math.min(25, attempts - i) }, (_, k) => `forged-${i + k}`);
      const statuses = await Promise.all(batch.map((sub) => attempt(t.hub.url, forged(sub))));
      expect(statuses.every((s) => s === 401)).toBe(true);
    }
    expect(refusalLines()).toHaveLength(REFUSAL_LINES_PER_MINUTE);
    expect(refusalLines()[0]?.data).toMatchObject({
      agentId: "forged-0",
      reason: expect.stringMatching(/invalid/),
    });
    // The next minute: the count of what was left out, then new refusals are logged again.
    clock += 61_000;
    expect(await attempt(t.hub.url, forged("later"))).toBe(401);
    const summary = lines.filter((l) => /not logged/.test(l.msg));
    expect(summary).toHaveLength(1);
    expect(summary[0]?.data).toMatchObject({ notLogged: attempts - REFUSAL_LINES_PER_MINUTE });
    expect(refusalLines().at(-1)?.data).toMatchObject({ agentId: "later" });
    // The dashboard's list is bounded apart from the log, and names the newest first.
    const attention = await t.api<{ refused: { agentId: string }[] }>("GET", "/api/v1/agents/attention", {
      token: t.operator,
    });
    expect(attention.body.refused[0]?.agentId).toBe("later");
  });
});

describe("refused agent connections in the log under a wall clock set back", () => {
  // The minute between an agent's refusal lines was counted on the wall clock: set back an hour
  // (NTP stepping a clock that ran ahead), the minute under way lasted 61, and an agent locked out
  // was not logged again for the hour. Only the clocks move: the wall back an hour, the elapsed
  // clock forward 61 s, as a minute with such a step in it reads.
  it("logs an agent refused again a minute later, not an hour later", async () => {
    const shift = steppedClocks();
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const t = await startTestHub({ log: memoryLogger(lines) });
    try {
      const logged = () =>
        lines.filter((l) => l.msg === "refused an agent connection" && l.data?.agentId === "stepped");
      expect(await attempt(t.hub.url, forged("stepped"))).toBe(401);
      expect(logged()).toHaveLength(1);
      shift.elapsed += 61_000;
      shift.wall += 61_000 - 3_600_000;
      expect(await attempt(t.hub.url, forged("stepped"))).toBe(401);
      expect(logged()).toHaveLength(2);
    } finally {
      await t.stop();
      vi.restoreAllMocks();
    }
  });
});
