/**
 * A host one `abort --rollback` of a bad release found taken over by a later rollout is taken over
 * only while that rollout owns it: once the later rollout is over and the host runs the bad release
 * again (the later rollout's own rollback put it back there), a second abort --rollback of the bad
 * release must reach it, and the rollout must offer it. A host the later rollout still holds stays
 * out. Real hub (in process) over real WebSocket, on SQLite and on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import {
  deployOf,
  hubBackends,
  hubPerTest,
  isType,
  publishRelease,
  reportInstalled,
  type TestAgent,
  type TestHub,
} from "./support.js";

let pg: PostgresServer | undefined;
const session = hubPerTest();

beforeAll(async () => {
  if (hasPostgres()) pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

interface Shown {
  state: string;
  reason: string | null;
  actions: string[];
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
}

const isDeploy = isType("deploy");
for (const backend of hubBackends(() => pg))
  describe.skipIf(!backend.available)(`abort --rollback after a take-over ended, on ${backend.name}`, () => {
    const connect = (t: TestHub, id: string, releaseId: string) =>
      session.connect(t, id, [{ app: "web", version: "1.0.0", state: "ok", releaseId }]);
    const create = async (t: TestHub, release: string) => {
      const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
      });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const shown = async (t: TestHub, id: string) =>
      (await t.api<Shown>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    const listed = async (t: TestHub, id: string) =>
      (
        await t.api<{ rollouts: (Shown & { id: string })[] }>("GET", "/api/v1/rollouts", {
          token: t.operator,
        })
      ).body.rollouts.find((r) => r.id === id);
    const abortRollback = (t: TestHub, id: string) =>
      t.api<Shown & { error?: string }>("POST", `/api/v1/rollouts/${id}/abort`, {
        token: t.operator,
        body: { rollback: true },
      });
    /** A rollback instruction done: the agent runs `back.release` again. */
    const rolledBack = (agent: TestAgent, back: Deploy, from: string) =>
      reportInstalled(agent, back, "succeeded", from, back.release.id);

    it("reaches a host back on the bad release once the later rollout is over; not one it still holds", async () => {
      const t = await session.start(await backend.options());
      const v1 = await publishRelease(t, "1.0.0");
      const v2 = await publishRelease(t, "2.0.0");
      const v3 = await publishRelease(t, "3.0.0");
      const a1 = await connect(t, "a1", v1);
      const a2 = await connect(t, "a2", v1);

      // 2.0.0 reaches both; then 3.0.0 replaces it on both.
      const bad = await create(t, v2);
      for (const a of [a1, a2]) await reportInstalled(a, await a.next(isDeploy), "succeeded", "1.0.0", v2);
      await expect.poll(async () => (await shown(t, bad)).state).toBe("completed");
      const fix = await create(t, v3);
      for (const a of [a1, a2]) await reportInstalled(a, await a.next(isDeploy), "succeeded", "2.0.0", v3);
      await expect.poll(async () => (await shown(t, fix)).state).toBe("completed");

      // 2.0.0 is bad: nobody runs it, 3.0.0 took both over.
      const first = await abortRollback(t, bad);
      expect(first.status).toBe(200);
      expect(first.body.reason).toMatch(
        /NOT rolled back \(a later rollout of the app took them over\): a1, a2$/,
      );

      // 3.0.0 turns out worse: its rollback puts a1 back on 2.0.0; a2's instruction is still owed.
      expect((await abortRollback(t, fix)).status).toBe(200);
      await rolledBack(a1, await a1.next(deployOf(fix)), "3.0.0");
      await a2.next(deployOf(fix));
      await expect
        .poll(async () => (await t.hub.store.getAgent("a1"))?.apps.find((p) => p.app === "web")?.releaseId)
        .toBe(v2);

      // a1 runs 2.0.0 again and nothing later owns it: the bad rollout offers its rollback again,
      // in the list as in the detail, and sends a1 to 1.0.0; a2 is still 3.0.0's (its rollback owed).
      expect((await shown(t, bad)).actions).toContain("abort-rollback");
      expect((await listed(t, bad))?.actions).toContain("abort-rollback");
      const second = await abortRollback(t, bad);
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.reason).toMatch(/^aborted; rollback sent to 1 agent\(s\)$/);
      const back = await a1.next(deployOf(bad));
      expect(back).toMatchObject({ rollback: true, release: { id: v1, version: "1.0.0" } });
      const rows = (await shown(t, bad)).waves.flatMap((w) => w.agents);
      expect(rows.find((r) => r.agentId === "a1")).toMatchObject({ state: "rollback_pending", error: null });
      expect(rows.find((r) => r.agentId === "a2")?.error).toMatch(
        /^not rolled back: a later rollout of the app/,
      );
      expect(a2.received.filter(deployOf(bad))).toEqual([]);

      // Once a1 is back on 1.0.0 there is nothing left to take back: not offered, and refused.
      await rolledBack(a1, back, "2.0.0");
      await expect.poll(async () => (await shown(t, bad)).actions).not.toContain("abort-rollback");
      expect((await listed(t, bad))?.actions).not.toContain("abort-rollback");
      expect((await abortRollback(t, bad)).status).toBe(409);
    });
  });
