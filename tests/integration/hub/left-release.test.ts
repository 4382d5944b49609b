/**
 * A host whose deployment succeeded, then leaves the release while its rollout is under way (a
 * `ship --rollback` or restore on the host, which its agent announces in a hello, or a report
 * naming no deployment): the hub kept it `succeeded`, and auto-advance passed the wave when its
 * waitMinutes were up, so the fleet got a release the canary no longer ran. Now it is `failed`
 * ("left web 2.0.0 after it succeeded: the host runs web 1.0.0 now …"), counted against the
 * threshold: the wave halts, or waits below its minSuccessRate instead of advancing. A finished
 * rollout's history stays as it was. Real hub over HTTP and WebSocket, on SQLite and PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import {
  deployOf,
  type HelloApps,
  hubBackends,
  hubPerTest,
  isType,
  operatorCli,
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

type View = {
  state: string;
  reason: string | null;
  currentWave: number;
  progress: Record<string, number>;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const deployment = async (t: TestHub, id: string, agentId: string) =>
  (await view(t, id)).waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId);

const LEFT = "left web 2.0.0 after it succeeded: the host runs web 1.0.0 now (rolled_back)";

interface Setup {
  t: TestHub;
  id: string;
  v1: string;
  v2: string;
  a1: TestAgent;
  a2: TestAgent;
  clock: { skew: number };
  /** The canary's instruction, which it reported succeeded. */
  deploy: Deploy;
}

/** a1 (canary) and a2 (rest) on web 1.0.0; web 2.0.0 rolled out, a1's update reported succeeded. */
async function canarySucceeded(
  options: Record<string, unknown>,
  rollout: {
    failureThreshold: unknown;
    waitMinutes?: number;
    minSuccessRate?: number;
    autoAdvance?: boolean;
  },
): Promise<Setup> {
  const clock = { skew: 0 };
  const t = await session.start({ ...options, now: () => Date.now() + clock.skew });
  const v1 = await publishRelease(t, "1.0.0");
  const v2 = await publishRelease(t, "2.0.0");
  const on1: HelloApps = [{ app: "web", version: "1.0.0", state: "updated", releaseId: v1 }];
  const a1 = await session.connect(t, "a1", on1);
  const a2 = await session.connect(t, "a2", on1);
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: v2,
      waves: [
        {
          name: "canary",
          agents: ["a1"],
          waitMinutes: rollout.waitMinutes ?? 10,
          ...(rollout.minSuccessRate === undefined ? {} : { minSuccessRate: rollout.minSuccessRate }),
        },
        { name: "rest", agents: ["a2"] },
      ],
      autoAdvance: rollout.autoAdvance ?? true,
      failureThreshold: rollout.failureThreshold,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const deploy: Deploy = await a1.next(deployOf(id));
  await reportInstalled(a1, deploy, "succeeded", "1.0.0", v2);
  await expect
    .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
    .toBe("succeeded");
  return { t, id, v1, v2, a1, a2, clock, deploy };
}

/** a1 says hello again on 1.0.0, as an agent does when a run by hand changed its app. */
function backOn1(s: Setup): void {
  s.a1.hello("a1", [{ app: "web", version: "1.0.0", state: "rolled_back", releaseId: s.v1 }]);
}

/** `backOn1`, once the hub counts a1 failed for it. */
async function leftAndFailed(s: Setup): Promise<void> {
  backOn1(s);
  await expect
    .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
    .toBe("failed");
}

for (const backend of hubBackends(() => pg))
  describe.skipIf(!backend.available)(
    `a canary that leaves the release after it succeeded, on ${backend.name}`,
    () => {
      it("its hello on the older release fails it and halts the rollout in the canary wave; rollout show, --json and the API agree", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 1 } });
        backOn1(s);
        await expect.poll(async () => (await view(s.t, s.id)).state, { timeout: 10_000 }).toBe("paused");
        const v = await view(s.t, s.id);
        expect(v.currentWave).toBe(0);
        expect(v.reason).toMatch(/^failure threshold \(/);
        expect(v.progress).toMatchObject({ succeeded: 0, failed: 1, pending: 1 });
        const a1 = await deployment(s.t, s.id, "a1");
        expect(a1?.state).toBe("failed");
        expect(a1?.error).toContain(LEFT);
        expect((await deployment(s.t, s.id, "a2"))?.state).toBe("pending");
        expect(s.a2.received.filter(isType("deploy"))).toEqual([]);
        // The operator's CLI says the same as the API.
        const shown = await operatorCli(s.t, "rollout", "show", s.id.slice(0, 8));
        expect(shown.code, shown.stderr).toBe(0);
        expect(shown.stdout.replace(/\s+/g, " ")).toContain(LEFT);
        expect(shown.stdout).toMatch(/^state\s+paused/m);
        const json = await operatorCli(s.t, "rollout", "show", s.id, "--json");
        const parsed = JSON.parse(json.stdout) as View;
        expect({ state: parsed.state, progress: parsed.progress, reason: parsed.reason }).toEqual({
          state: v.state,
          progress: v.progress,
          reason: v.reason,
        });
        const events = await s.t.api<{ events: { kind: string; data: { was?: string } }[] }>(
          "GET",
          `/api/v1/events?subject=${encodeURIComponent(`${s.id}:a1`)}`,
          { token: s.t.operator },
        );
        expect(events.body.events[0]).toMatchObject({
          kind: "deployment.failed",
          data: { was: "succeeded" },
        });
      });

      it("below the threshold, the wave waits when its waitMinutes are up instead of advancing", async () => {
        const s = await canarySucceeded(await backend.options(), {
          failureThreshold: { count: 5 },
          waitMinutes: 1,
        });
        await leftAndFailed(s);
        s.clock.skew = 2 * 60_000;
        await expect
          .poll(async () => (await view(s.t, s.id)).reason ?? "", { timeout: 10_000 })
          .toMatch(/^waiting for an operator: /);
        const v = await view(s.t, s.id);
        expect({ state: v.state, wave: v.currentWave }).toEqual({ state: "running", wave: 0 });
        expect((await deployment(s.t, s.id, "a2"))?.state).toBe("pending");
      });

      it("a report naming no deployment (a run on the host) that puts 1.0.0 back fails it too", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 1 } });
        const reportId = randomUUID();
        s.a1.send({
          type: "report",
          reportId,
          app: "web",
          releaseId: s.v1,
          outcome: "succeeded",
          fromVersion: "2.0.0",
          toVersion: "1.0.0",
          installedReleaseId: s.v1,
          steps: [{ name: "apply", ok: true, ms: 1 }],
        });
        await expect
          .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
          .toBe("failed");
        expect((await deployment(s.t, s.id, "a1"))?.error).toMatch(
          /^left web 2\.0\.0 after it succeeded: the host runs web 1\.0\.0 now/,
        );
        await expect.poll(async () => (await view(s.t, s.id)).state, { timeout: 10_000 }).toBe("paused");
      });

      it("a paused rollout halts on it too; a hello still on the release changes nothing", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 1 } });
        s.a1.hello("a1", [{ app: "web", version: "2.0.0", state: "updated", releaseId: s.v2 }]);
        const paused = await s.t.api("POST", `/api/v1/rollouts/${s.id}/pause`, {
          token: s.t.operator,
          body: {},
        });
        expect(paused.status).toBe(200);
        expect((await deployment(s.t, s.id, "a1"))?.state).toBe("succeeded");
        backOn1(s);
        await expect
          .poll(async () => (await view(s.t, s.id)).reason ?? "", { timeout: 10_000 })
          .toMatch(/^failure threshold \(/);
        expect((await deployment(s.t, s.id, "a1"))?.error).toContain(LEFT);
      });

      it("a hello still on the release but broken on it (a later run of it failed, left in place) fails it too", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 1 } });
        s.a1.hello("a1", [
          { app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: s.v2 },
        ]);
        await expect.poll(async () => (await view(s.t, s.id)).state, { timeout: 10_000 }).toBe("paused");
        expect(await deployment(s.t, s.id, "a1")).toMatchObject({
          state: "failed",
          error: expect.stringMatching(
            /^broken on web 2\.0\.0 after it succeeded: .*\(failed_not_rolled_back\)/,
          ),
        });
      });

      it("back on the release (a hello on 2.0.0 again), it is succeeded once more and the wave advances when its wait is up", async () => {
        const s = await canarySucceeded(await backend.options(), {
          failureThreshold: { count: 5 },
          waitMinutes: 1,
        });
        await leftAndFailed(s);
        s.a1.hello("a1", [{ app: "web", version: "2.0.0", state: "updated", releaseId: s.v2 }]);
        await expect
          .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
          .toBe("succeeded");
        expect((await deployment(s.t, s.id, "a1"))?.error).toBeNull();
        expect((await view(s.t, s.id)).progress).toMatchObject({ succeeded: 1, failed: 0 });
        const events = await s.t.api<{ events: { kind: string; data: { was?: string; back?: string } }[] }>(
          "GET",
          `/api/v1/events?subject=${encodeURIComponent(`${s.id}:a1`)}`,
          { token: s.t.operator },
        );
        expect(events.body.events[0]).toMatchObject({
          kind: "deployment.succeeded",
          data: { was: "failed", back: "the host runs web 2.0.0 again" },
        });
        s.clock.skew = 2 * 60_000;
        // The next tick advances the wave (a loaded machine may take its time).
        const deploy: Deploy = await s.a2.next(deployOf(s.id), 60_000);
        expect(deploy.release.id).toBe(s.v2);
        expect((await view(s.t, s.id)).currentWave).toBe(1);
      }, 120_000);

      it("back on the release after it broke on it (a later run left in place), it is succeeded once more; a halted rollout stays paused for the operator", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 1 } });
        s.a1.hello("a1", [
          { app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: s.v2 },
        ]);
        await expect.poll(async () => (await view(s.t, s.id)).state, { timeout: 10_000 }).toBe("paused");
        s.a1.hello("a1", [{ app: "web", version: "2.0.0", state: "updated", releaseId: s.v2 }]);
        await expect
          .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
          .toBe("succeeded");
        const v = await view(s.t, s.id);
        expect({ state: v.state, wave: v.currentWave }).toEqual({ state: "paused", wave: 0 });
        expect(v.progress).toMatchObject({ succeeded: 1, failed: 0, pending: 1 });
      });

      it("back on the release by a run on the host (a report naming no deployment that installs 2.0.0), it is succeeded once more", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 5 } });
        await leftAndFailed(s);
        s.a1.send({
          type: "report",
          reportId: randomUUID(),
          app: "web",
          releaseId: s.v2,
          outcome: "succeeded",
          fromVersion: "1.0.0",
          toVersion: "2.0.0",
          installedReleaseId: s.v2,
          steps: [{ name: "apply", ok: true, ms: 1 }],
        });
        await expect
          .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
          .toBe("succeeded");
      });

      it("a failure of its own update (a report) is not undone by a hello on the release", async () => {
        const s = await canarySucceeded(await backend.options(), { failureThreshold: { count: 5 } });
        // Its update's late report: it failed and its host put 1.0.0 back.
        await reportInstalled(s.a1, s.deploy, "rolled_back", "1.0.0", s.v1);
        await expect
          .poll(async () => (await deployment(s.t, s.id, "a1"))?.state, { timeout: 10_000 })
          .toBe("failed");
        s.a1.hello("a1", [{ app: "web", version: "2.0.0", state: "updated", releaseId: s.v2 }]);
        await expect
          .poll(async () => (await s.t.hub.store.getAgent("a1"))?.apps[0]?.state, { timeout: 10_000 })
          .toBe("updated");
        expect((await deployment(s.t, s.id, "a1"))?.state).toBe("failed");
      });

      it("a completed rollout's history stays as it was", async () => {
        const s = await canarySucceeded(await backend.options(), {
          failureThreshold: { count: 1 },
          waitMinutes: 0,
        });
        const deploy: Deploy = await s.a2.next(deployOf(s.id));
        await reportInstalled(s.a2, deploy, "succeeded", "1.0.0", s.v2);
        await expect.poll(async () => (await view(s.t, s.id)).state, { timeout: 10_000 }).toBe("completed");
        backOn1(s);
        // The hello is stored (the fleet shows 1.0.0) before the rollout is read again.
        await expect
          .poll(async () => (await s.t.hub.store.getAgent("a1"))?.apps[0]?.version, { timeout: 10_000 })
          .toBe("1.0.0");
        const v = await view(s.t, s.id);
        expect({ state: v.state, a1: (await deployment(s.t, s.id, "a1"))?.state }).toEqual({
          state: "completed",
          a1: "succeeded",
        });
      });
    },
  );
