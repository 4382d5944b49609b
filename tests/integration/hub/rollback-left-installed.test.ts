/**
 * Emergency rollback of a host whose failed update left the release installed (the release's
 * `auto_rollback_on` leaves a failed post_update_test in place: "version 2.0.0 is LEFT IN PLACE").
 * That host runs the bad release, yet abort --rollback and auto-rollback sent back only the hosts
 * whose update succeeded or was under way: it stayed on 2.0.0, not named anywhere as not rolled
 * back. Now it is sent back too, as the agent's last report (and the fleet) says it runs the
 * rollout's release. Real hub (in process) over real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestAgent, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

const connect = (t: TestHub, id: string) => session.connect(t, id);

async function reportFailed(agent: TestAgent, deploy: Deploy, installed: string | undefined): Promise<void> {
  const reportId = randomUUID();
  agent.send({
    type: "report",
    v: 1,
    reportId,
    deploymentId: deploy.deploymentId,
    app: "web",
    releaseId: deploy.release.id,
    outcome: "failed",
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    error:
      "post_update_test failed; NOT rolled back because auto_rollback_on does not include health_check_fail: version 2.0.0 is LEFT IN PLACE",
    steps: [],
    ...(installed ? { installedReleaseId: installed } : {}),
  });
  await agent.next(
    (m: HubMessage): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
  );
}

type View = {
  state: string;
  reason: string | null;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};

describe("a failed update left installed, then a rollback", () => {
  it("abort --rollback sends that host back too", async () => {
    const t = await session.start();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const ok = await connect(t, "ok");
    const left = await connect(t, "left");
    const restored = await connect(t, "restored");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
      })
    ).body.id;
    await reportAcked(ok, await ok.next(isDeploy), "succeeded");
    await reportFailed(left, await left.next(isDeploy), v2);
    // Its host put 1.0.0 back by itself: nothing to take back.
    await reportAcked(restored, await restored.next(isDeploy), "rolled_back");

    const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    expect(aborted.body.reason).toBe("aborted; rollback sent to 2 agent(s)");
    for (const agent of [ok, left]) {
      const back: Deploy = await agent.next(isDeploy);
      expect(back).toMatchObject({ rollback: true, release: { id: v1 } });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(restored.received.filter(isDeploy)).toEqual([]);
    const view = (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    expect(view.waves[0]?.agents.find((a) => a.agentId === "left")?.state).toBe("rollback_pending");
  });
});

describe("a completed rollout whose only failed host was left on its release", () => {
  it("offers abort with rollback in the list as in its detail", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const left = await connect(t, "left");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
      })
    ).body.id;
    await reportFailed(left, await left.next(isDeploy), v2);
    type Listed = { id: string; state: string; actions: string[] };
    const detail = async () =>
      (await t.api<Listed>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => (await detail()).state, { timeout: 10_000 }).toBe("completed");
    expect((await detail()).actions).toEqual(["abort-rollback"]);
    const list = await t.api<{ rollouts: Listed[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts.find((r) => r.id === id)?.actions).toEqual(["abort-rollback"]);
    // A refused action's "allowed now" offers it too, not "nothing is allowed now".
    const paused = await t.api<{ error: string }>("POST", `/api/v1/rollouts/${id}/pause`, {
      token: t.operator,
      body: {},
    });
    expect(paused.status).toBe(409);
    expect(paused.body.error).toMatch(
      /: pause applies to a running rollout; allowed now: abort with rollback$/,
    );
  });
});

describe("a host its hello shows broken on the release by version, naming no release id", () => {
  it("abort --rollback sends it back, as it is counted failed on the release", async () => {
    const t = await session.start();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const on1 = [{ app: "web", version: "1.0.0", state: "updated", releaseId: v1 }];
    const h = await session.connect(t, "h", on1);
    await session.connect(t, "o", on1);
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release: v2,
          waves: [
            { name: "canary", agents: ["h"] },
            { name: "rest", agents: ["o"] },
          ],
          autoAdvance: false,
          failureThreshold: { count: 5 },
        },
      })
    ).body.id;
    await reportAcked(h, await h.next(isDeploy), "succeeded");
    // A later run on the host failed and left 2.0.0 in place; its agent names the version only
    // (installed by other means than the hub, or an agent that does not say the id).
    h.hello("h", [{ app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: undefined }]);
    const detail = async () =>
      (await t.api<View & { actions: string[] }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator }))
        .body;
    await expect
      .poll(async () => (await detail()).waves[0]?.agents[0]?.error ?? "", { timeout: 10_000 })
      .toMatch(/^broken on web 2\.0\.0 after it succeeded/);
    expect((await detail()).actions).toContain("abort-rollback");
    const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    expect(aborted.body.reason).toBe("aborted; rollback sent to 1 agent(s)");
    const back: Deploy = await h.next(isDeploy);
    expect(back).toMatchObject({ rollback: true, release: { id: v1 } });
    expect((await detail()).waves[0]?.agents[0]?.state).toBe("rollback_pending");
  });
});
