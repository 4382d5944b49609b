/**
 * A hello does not finish a deployment whose instruction the agent was handed: only its report
 * does. An agent of an older ship announces the release's files as installed while its
 * post_update_test still runs (a reconnect mid-update: the hub restarted, the network cut); the hub
 * took that hello for "the agent runs web 2.0.0 already", passed the canary and sent the next
 * wave the release, then the canary's test failed. Now the instruction is sent again and the
 * agent's answer decides: a real agent answers one it carried out with its report (its outbox, or
 * its record of the instruction), one under way by carrying on with it. Real hub (in process),
 * real agent channel over a real WebSocket, real SQLite.
 */
import { describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import {
  deployOf,
  type HelloApps,
  hubPerTest,
  publishRelease,
  reportAcked,
  type TestAgent,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const OFFLINE_MS = 60_000;

type View = { state: string; currentWave: number; waves: { agents: { id: string; state: string }[] }[] };
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const stateOf = async (t: TestHub, id: string, agentId: string) =>
  (await t.hub.store.getDeployment(`${id}:${agentId}`))?.state;

/** c1 (canary) then w1, auto-advancing, one failure halts; c1 has been handed the release. */
async function canaryHandedRelease(t: TestHub) {
  const release = await publishRelease(t, "2.0.0");
  const c1 = await session.connect(t, "c1");
  const w1 = await session.connect(t, "w1");
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release,
      waves: [
        { name: "canary", agents: ["c1"] },
        { name: "rest", agents: ["w1"] },
      ],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const deploy = await c1.next(deployOf(id));
  return { id, release, c1, w1, deploy };
}

/** c1's connection drops and it connects again, its hello naming the release's version as installed. */
async function reconnectOnRelease(t: TestHub, c1: TestAgent, release: string): Promise<TestAgent> {
  c1.ws.terminate();
  await expect.poll(() => t.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
  const onRelease: HelloApps = [{ app: "web", version: "2.0.0", state: "updated", releaseId: release }];
  const again = await session.connect(t, "c1", onRelease);
  // Stored: the hello's transaction, which settled (or not) c1's deployment, has committed.
  await expect
    .poll(async () => (await t.hub.store.getAgent("c1"))?.apps.map((a) => a.version), { timeout: 10_000 })
    .toEqual(["2.0.0"]);
  return again;
}

describe("a hello naming the release does not finish a deployment the agent was handed", () => {
  for (const step of ["sent", "in_progress"] as const)
    it(`${step}: an older agent's hello mid-update leaves the canary to its report, whose failure halts the rollout before the next wave`, async () => {
      const t = await session.start();
      const { id, release, c1, w1, deploy } = await canaryHandedRelease(t);
      if (step === "in_progress") {
        c1.send({
          type: "progress",
          v: 1,
          deploymentId: deploy.deploymentId,
          step: "fetch",
          message: "started",
        });
        await expect.poll(() => stateOf(t, id, "c1"), { timeout: 10_000 }).toBe("in_progress");
      }
      const again = await reconnectOnRelease(t, c1, release);
      // Before: succeeded at this hello ("the agent runs web 2.0.0 already") and w1 sent the release.
      expect(await stateOf(t, id, "c1")).toBe(step === "sent" ? "sent" : "in_progress");
      expect((await view(t, id)).currentWave).toBe(0);
      // Sent again: the agent's answer to it is what counts.
      const resent: Deploy = await again.next(deployOf(id));
      expect(resent.deploymentId).toBe(deploy.deploymentId);
      // Its post_update_test failed and the host restored 1.0.0.
      await reportAcked(again, deploy, "rolled_back", [{ name: "post_update_test", ok: false, ms: 1 }]);
      await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
      expect(await stateOf(t, id, "c1")).toBe("failed");
      expect(await stateOf(t, id, "w1")).toBe("pending");
      expect(w1.received.filter(deployOf(id))).toEqual([]);
    });

  it("timed out after it was sent: back with a hello naming the release, it is sent the instruction again at the resume, not found done", async () => {
    let skew = 0;
    const t = await session.start({
      timeShiftMs: () => skew,
      offlineTimeoutMs: OFFLINE_MS,
      hubTimeoutMs: 3_600_000,
    });
    const { id, release, c1, w1, deploy } = await canaryHandedRelease(t);
    c1.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
    skew += OFFLINE_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "c1"), { timeout: 10_000 }).toBe("timed_out");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    const again = await reconnectOnRelease(t, c1, release);
    // Paused: nothing owed yet. The resume retries it: before, found done ("the agent runs web
    // 2.0.0 already") and w1 sent the release; now sent again, and its report decides.
    const resumed = await t.api<{ state: string }>("POST", `/api/v1/rollouts/${id}/resume`, {
      token: t.operator,
      body: {},
    });
    expect(resumed.body.state).toBe("running");
    expect((await again.next(deployOf(id))).deploymentId).toBe(deploy.deploymentId);
    expect(await stateOf(t, id, "c1")).toBe("sent");
    await reportAcked(again, deploy, "rolled_back", [{ name: "post_update_test", ok: false, ms: 1 }]);
    await expect.poll(() => stateOf(t, id, "c1"), { timeout: 10_000 }).toBe("failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect(await stateOf(t, id, "w1")).toBe("pending");
    expect(w1.received.filter(deployOf(id))).toEqual([]);
  });

  it("an agent that finished while the hub did not hear its report passes the canary with that report, resent", async () => {
    const t = await session.start();
    const { id, release, c1, w1, deploy } = await canaryHandedRelease(t);
    const again = await reconnectOnRelease(t, c1, release);
    expect(await stateOf(t, id, "c1")).toBe("sent");
    // A real agent resends its outbox on connect, and answers the re-sent instruction from its record.
    await again.next(deployOf(id));
    await reportAcked(again, deploy, "succeeded", [{ name: "apply", ok: true, ms: 1 }]);
    await expect.poll(() => stateOf(t, id, "c1"), { timeout: 10_000 }).toBe("succeeded");
    const next = await w1.next(deployOf(id));
    expect(next.deploymentId).toBe(`${id}:w1`);
    expect((await view(t, id)).currentWave).toBe(1);
  });
});
