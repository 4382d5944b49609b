/**
 * `resume` accepts the failures so far: the rollout's allowance is set to their number, and only
 * failures beyond it count toward the threshold. An accepted failure that later turns into a
 * success (a timed-out agent whose late report says it updated after all) left the allowance as it
 * was: the next real failure was absorbed by it, and the rollout did not halt. Real hub (in
 * process) over real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

/** An agent on web 1.0.0 (the hello's default apps). */
const connect = (t: TestHub, id: string) => session.connect(t, id);

type View = {
  state: string;
  reason: string | null;
  waves: { agents: { agentId: string; state: string }[] }[];
};

describe("an accepted failure that turns into a success", () => {
  it("leaves the allowance: the next failure halts the rollout", async () => {
    const t = await session.start({ offlineTimeoutMs: 400 });
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const away = await connect(t, "away");
    const other = await connect(t, "other");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
      })
    ).body.id;
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    const sent = await away.next(isDeploy);
    const otherDeploy = await other.next(isDeploy);
    // "away" drops off mid-update and times out: the rollout halts on it.
    away.ws.terminate();
    await expect.poll(view, { timeout: 10_000 }).toMatchObject({ state: "paused" });
    expect((await view()).reason).toMatch(/^failure threshold \(1 failure\(s\)\) reached/);
    // The operator accepts that timeout and resumes, then pauses to look around.
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    // "away" comes back and its outbox delivers the report of the update it finished meanwhile.
    const back = await connect(t, "away");
    const reportId = randomUUID();
    back.send({
      type: "report",
      v: 1,
      reportId,
      deploymentId: sent.deploymentId,
      app: "web",
      releaseId: release,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [],
    });
    await back.next(
      (m: HubMessage): m is Extract<HubMessage, { type: "ack" }> =>
        m.type === "ack" && m.reportId === reportId,
    );
    expect((await view()).waves[0]?.agents.find((a) => a.agentId === "away")?.state).toBe("succeeded");
    // A real failure now: nothing is accepted any more, so it crosses the threshold.
    await reportAcked(other, otherDeploy, "failed");
    await expect
      .poll(async () => (await view()).reason, { timeout: 10_000 })
      .toBe(
        "failure threshold (1 failure(s)) reached: 1 failed when it halted (while paused by an operator)",
      );
  });
});

describe("a failure after the accepting resume that turns into a success, past a pause by hand", () => {
  it("leaves the failures the halt's resume accepted accepted", async () => {
    const t = await session.start({ offlineTimeoutMs: 400 });
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    // "busy" is sent the release and never answers here: the wave stays under way.
    const [away1, failing, away2] = [
      await connect(t, "away1"),
      await connect(t, "failing"),
      await connect(t, "away2"),
      await connect(t, "busy"),
    ];
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 2 } },
      })
    ).body.id;
    type Counted = View & { counted: { accepted: number } };
    const view = async () =>
      (await t.api<Counted>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    const act = (action: string) =>
      t.api("POST", `/api/v1/rollouts/${id}/${action}`, { token: t.operator, body: {} });
    await away1.next(isDeploy);
    await reportAcked(failing, await failing.next(isDeploy), "failed");
    const sent = await away2.next(isDeploy);
    // away1 times out: two failures halt it, and the operator's resume accepts both.
    away1.ws.terminate();
    await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("paused");
    expect((await act("resume")).status).toBe(200);
    expect((await view()).counted.accepted).toBe(2);
    // away2 times out after it: one failure that counts. A pause by hand and a resume accept nothing.
    away2.ws.terminate();
    await expect
      .poll(async () => (await view()).waves[0]?.agents.find((a) => a.agentId === "away2")?.state, {
        timeout: 10_000,
      })
      .toBe("timed_out");
    expect((await act("pause")).status).toBe(200);
    expect((await act("resume")).status).toBe(200);
    // away2 comes back with the success of the update it finished: its failure, never accepted,
    // leaves no hole in the allowance (read off the newest resume, it took one of the halt's away).
    const back = await connect(t, "away2");
    await reportAcked(back, sent, "succeeded");
    expect((await view()).waves[0]?.agents.find((a) => a.agentId === "away2")?.state).toBe("succeeded");
    expect((await view()).counted.accepted).toBe(2);
  });
});
