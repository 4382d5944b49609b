/**
 * The release a rollback sends a host back to, when the host already ran the rollout's release at
 * create: read from an earlier rollout of the release only if that rollout's deployment is how the
 * host came to run it. A deployment that rollout never sent (aborted before the host's wave) says
 * what the host ran when it was planned, not what it ran before the release: reading it sent the
 * host "back" to a release it had left long before. Real hub over real WebSocket, on SQLite and on
 * PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import {
  deployOf,
  hubBackends,
  hubPerTest,
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

for (const backend of hubBackends(() => pg))
  describe.skipIf(!backend.available)(`a rollback's target on ${backend.name}`, () => {
    async function connect(t: TestHub, id: string, version: string, releaseId: string): Promise<TestAgent> {
      const agent = await session.connect(t, id, [{ app: "web", version, state: "ok", releaseId }]);
      await expect
        .poll(async () => (await t.hub.store.getAgent(id))?.apps.find((p) => p.app === "web")?.releaseId, {
          timeout: 10_000,
        })
        .toBe(releaseId);
      return agent;
    }
    const create = async (t: TestHub, release: string, waves: unknown[]) => {
      const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves, failureThreshold: { count: 1 } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id;
    };
    const state = async (t: TestHub, id: string) =>
      (await t.api<{ state: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.state;
    const abort = (t: TestHub, id: string, rollback: boolean) =>
      t.api<{ reason: string | null }>("POST", `/api/v1/rollouts/${id}/abort`, {
        token: t.operator,
        body: { rollback },
      });

    it("is not read from a deployment its rollout never sent", async () => {
      const t = await session.start(await backend.options());
      const v1 = await publishRelease(t, "1.0.0");
      const v2 = await publishRelease(t, "2.0.0");
      const v3 = await publishRelease(t, "3.0.0");
      const canary = await connect(t, "canary", "1.0.0", v1);
      let a1 = await connect(t, "a1", "1.0.0", v1);

      // 2.0.0 reaches the canary; the rollout is aborted before a1's wave: a1 is never sent it.
      const early = await create(t, v2, [
        { name: "canary", agents: ["canary"] },
        { name: "rest", percent: 100 },
      ]);
      await reportInstalled(canary, await canary.next(deployOf(early)), "succeeded", "1.0.0", v2);
      expect((await abort(t, early, false)).status).toBe(200);
      expect((await t.hub.store.getDeployment(`${early}:a1`))?.state).toBe("cancelled");

      // a1 moves on to 3.0.0, then its operator installs 2.0.0 by hand: it ran 3.0.0 before it.
      const fix = await create(t, v3, [{ name: "all", percent: 100 }]);
      for (const [a, from] of [
        [canary, "2.0.0"],
        [a1, "1.0.0"],
      ] as const)
        await reportInstalled(a, await a.next(deployOf(fix)), "succeeded", from, v3);
      await expect.poll(() => state(t, fix)).toBe("completed");
      a1.ws.terminate();
      await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(false);
      a1 = await connect(t, "a1", "2.0.0", v2);

      // A rollout of 2.0.0 finds a1 on it. Its rollback must not send a1 to 1.0.0, which it left
      // before 3.0.0: the hub does not know what a1 ran before 2.0.0, and says so.
      const later = await create(t, v2, [{ name: "all", percent: 100 }]);
      expect((await t.hub.store.getDeployment(`${later}:a1`))?.previousRelease).toBeNull();
      await reportInstalled(canary, await canary.next(deployOf(later)), "succeeded", "3.0.0", v2);
      await expect.poll(() => state(t, later)).toBe("completed");
      const back = await abort(t, later, true);
      expect(back.status).toBe(200);
      expect(back.body.reason).toMatch(
        /rollback sent to 1 agent\(s\); 1 agent\(s\) NOT rolled back \(no previous release known\): a1$/,
      );
      expect(await canary.next(deployOf(later))).toMatchObject({ rollback: true, release: { id: v3 } });
      expect(a1.received.filter(deployOf(later))).toEqual([]);
    });
  });
