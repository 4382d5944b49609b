/**
 * An update instruction the agent declined (its app disabled: the hub stores the refusal, not
 * counted against the deployment, now not applicable) is sent again once the agent's hello names
 * the app again and the rollout resumes. An agent of an older ship answered that second send from
 * its record — the old refusal under its old reportId — which the hub dropped as a resend: the
 * deployment sat `sent` until the progress timeout (an hour) failed the wave, nothing saying why.
 * Now each update instruction carries its `attempt`, a current agent echoes it, and a resent
 * answer without one to an instruction sent again fails its deployment at once, naming the
 * agent's ship and "upgrade the agent". A current agent's resend of its earlier answer (attempt 1)
 * is still only a resend. Real hub (in process), agents over a real WebSocket speaking each
 * protocol, real SQLite; tests/e2e/refused-then-resent.test.ts runs a current real agent.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import {
  deployOf,
  type HelloApps,
  hubPerTest,
  publishRelease,
  type TestAgent,
  type TestHub,
} from "./support.js";

const session = hubPerTest();

type View = { state: string; reason: string | null };
const rollout = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const deployment = async (t: TestHub, id: string) => t.hub.store.getDeployment(`${id}:a1`);

const runsWeb: HelloApps = [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }];

/** The agent's refusal of `deploy` as it would send it, with `attempt` echoed when given. */
function refusal(deploy: Deploy, reportId: string, attempt?: number) {
  return {
    type: "report",
    v: 1,
    reportId,
    deploymentId: deploy.deploymentId,
    app: deploy.app,
    releaseId: deploy.release.id,
    outcome: "failed",
    fromVersion: "1.0.0",
    toVersion: deploy.release.version,
    error: "web is disabled in ship.toml (enabled = false)",
    steps: [],
    ...(attempt === undefined ? {} : { attempt }),
  };
}

const acked = (agent: TestAgent, reportId: string) =>
  agent.next((m): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId);

/**
 * a1 is sent web 2.0.0 (attempt 1), says hello without web (disabled) and refuses it; the rollout,
 * its only member gone, holds. Its hello names web again and the operator resumes: the hub sends
 * the instruction again (attempt 2). Returns the agent, the rollout and both sends.
 */
async function declinedThenSentAgain(t: TestHub) {
  const release = await publishRelease(t, "2.0.0");
  const a1 = await session.connect(t, "a1", runsWeb);
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release, waves: [{ name: "all", agents: ["a1"] }], failureThreshold: { count: 1 } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const first = await a1.next(deployOf(id));
  a1.hello("a1", []);
  await expect.poll(async () => (await deployment(t, id))?.state, { timeout: 10_000 }).toBe("not_applicable");
  const refused = randomUUID();
  a1.send(refusal(first, refused, first.attempt));
  await acked(a1, refused);
  await expect.poll(async () => (await rollout(t, id)).state, { timeout: 10_000 }).toBe("paused");
  a1.hello("a1", runsWeb);
  await expect.poll(async () => (await deployment(t, id))?.state, { timeout: 10_000 }).toBe("pending");
  expect((await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator })).status).toBe(200);
  const again = await a1.next(deployOf(id));
  return { a1, id, first, again, refused };
}

describe("an update instruction sent again after the agent declined it (real hub, agents over WebSocket)", () => {
  it("each sending carries its attempt", async () => {
    const t = await session.start();
    const { first, again } = await declinedThenSentAgain(t);
    expect([first.attempt, again.attempt]).toEqual([1, 2]);
  });

  it("an older agent's answer from its record fails the deployment at once, saying to upgrade the agent", async () => {
    const t = await session.start();
    const { a1, id, first, refused } = await declinedThenSentAgain(t);
    // The older agent: the same refusal, the same reportId, no attempt echoed.
    a1.send(refusal(first, refused));
    await acked(a1, refused);
    await expect.poll(async () => (await deployment(t, id))?.state, { timeout: 10_000 }).toBe("failed");
    const error = (await deployment(t, id))?.error ?? "";
    expect(error).toContain("ship agent test");
    expect(error).toContain("web is disabled in ship.toml");
    expect(error).toMatch(/upgrade the agent$/);
    // One failure crosses the threshold: the operator hears at once, not after the progress timeout.
    await expect.poll(async () => (await rollout(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect((await rollout(t, id)).reason ?? "").toContain("threshold");
  });

  it("a current agent's resend of its earlier answer is a resend; its answer to the second sending counts", async () => {
    const t = await session.start();
    const { a1, id, first, again, refused } = await declinedThenSentAgain(t);
    a1.send(refusal(first, refused, first.attempt));
    await acked(a1, refused);
    expect((await deployment(t, id))?.state).toBe("sent");
    const ran = randomUUID();
    a1.send({
      ...refusal(again, ran, again.attempt),
      outcome: "succeeded",
      error: undefined,
      steps: [{ name: "apply", ok: true, ms: 1 }],
    });
    await acked(a1, ran);
    expect((await deployment(t, id))?.state).toBe("succeeded");
  });
});
