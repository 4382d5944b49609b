/**
 * Whether the hub still owes an agent a rollback instruction is the state table's to say
 * (`rollback_pending` and `rollback_timed_out` alike: both are sent again at the agent's hello).
 * The dashboard's rollout page named one of the two states itself; the API now sends the answer
 * per agent (`rollbackOwed`), and the CLI and the dashboard read it. Real hub (in process), agents
 * over a real WebSocket.
 */
import { describe, expect, it } from "vitest";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

type Row = { agentId: string; state: string; online: boolean; rollbackOwed: boolean };
const rows = async (t: TestHub, id: string) => {
  const view = await t.api<{ waves: { agents: Row[] }[] }>("GET", `/api/v1/rollouts/${id}`, {
    token: t.operator,
  });
  return view.body.waves.flatMap((w) => w.agents);
};

describe("rollbackOwed per agent", () => {
  it("is true while a rollback is owed (unanswered or timed out) and false once answered or never asked", async () => {
    const t = await session.start({ progressTimeoutMs: 3000 });
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const [a1, a2, a3] = await Promise.all(["a1", "a2", "a3"].map((id) => session.connect(t, id)));
    if (!a1 || !a2 || !a3) throw new Error("three agents");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: v2, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    for (const agent of [a1, a2, a3]) await reportAcked(agent, await agent.next(isDeploy), "succeeded");
    expect((await rows(t, id)).map((r) => r.rollbackOwed)).toEqual([false, false, false]);

    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    // a1 answers; a2 never does (its instruction times out); a3 goes away before answering.
    const back = await a1.next(isDeploy);
    await reportAcked(a1, { ...back, release: { ...back.release, version: "1.0.0" } }, "succeeded");
    a3.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a3"), { timeout: 10_000 }).toBe(false);
    await expect
      .poll(async () => (await rows(t, id)).find((r) => r.agentId === "a2")?.state, { timeout: 20_000 })
      .toBe("rollback_timed_out");
    a2.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a2"), { timeout: 10_000 }).toBe(false);

    const owed = Object.fromEntries((await rows(t, id)).map((r) => [r.agentId, [r.state, r.rollbackOwed]]));
    expect(owed).toMatchObject({
      a1: ["rolled_back", false],
      a2: ["rollback_timed_out", true],
    });
    // a3's instruction may have timed out by now too: owed either way.
    expect(owed.a3?.[1]).toBe(true);
  });
});
