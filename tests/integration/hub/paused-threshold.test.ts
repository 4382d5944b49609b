/**
 * Agents sent the release before an operator paused the rollout go on updating. Their failures
 * used to be counted nowhere while it stayed paused: past the failure threshold it still read
 * "paused by an operator", auto-rollback never sent anyone back, and `resume` accepted them all
 * as "failures so far", so the release went on as if the threshold had not been crossed. Real hub
 * (in process) over real WebSocket.
 */
import { describe, expect, it } from "vitest";
import { parseDeploymentId } from "../../../shared/protocol/messages.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

const connect = (t: TestHub, id: string) =>
  session.connect(t, id, [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }]);

type View = {
  state: string;
  reason: string | null;
  actions: string[];
  waves: { agents: { agentId: string; state: string }[] }[];
};

async function pausedCanary(t: TestHub, autoRollback: boolean) {
  await publishRelease(t, "1.0.0");
  const release = await publishRelease(t, "2.0.0");
  const agents = [await connect(t, "c1"), await connect(t, "c2"), await connect(t, "c3")];
  const rest = await connect(t, "m1");
  const id = (
    await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "canary", agents: ["c1", "c2", "c3"], minSuccessRate: 0.3 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 2 },
        autoAdvance: true,
        autoRollback,
      },
    })
  ).body.id;
  const deploys = await Promise.all(agents.map((a) => a.next(isDeploy)));
  const paused = await t.api<View>("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
  expect(paused.body.state).toBe("paused");
  const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
  const halted = async () =>
    (await t.hub.store.listEvents({ limit: 100, subject: id })).filter((e) => e.kind === "rollout.halted");
  return { id, agents, deploys, rest, view, halted };
}

describe("failures that cross the threshold while an operator has paused the rollout", () => {
  it("halt it then: the reason says so, and resume accepts them knowingly", async () => {
    requireHubBin();
    const t = await session.start();
    const { id, agents, deploys, rest, view, halted } = await pausedCanary(t, false);
    await reportAcked(agents[0]!, deploys[0]!, "failed");
    expect((await view()).reason).toBe("paused by an operator");
    await reportAcked(agents[1]!, deploys[1]!, "failed");
    await expect
      .poll(async () => (await view()).reason)
      .toBe(
        "failure threshold (2 failure(s)) reached: 2 failed when it halted (while paused by an operator)",
      );
    expect((await view()).state).toBe("paused");
    // Once: a third failure does not halt the halted rollout again.
    await reportAcked(agents[2]!, deploys[2]!, "failed");
    expect(await halted()).toHaveLength(1);
    expect((await view()).reason).toContain("2 failed when it halted");
    expect(rest.received.filter((m) => m.type === "deploy")).toEqual([]);
    // `rollout list` says why it stands there, not just "paused".
    const listed = await runHubCli(t.dir, ["rollout", "list", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    const [header, row] = listed.stdout.split("\n");
    expect(header).toMatch(/ UPDATED +REASON$/);
    expect(row).toMatch(
      new RegExp(
        `^${id} +web +2\\.0\\.0 +paused .* failure threshold \\(2 failure\\(s\\)\\) reached: 2 failed when it halted \\(while paused by an operator\\)$`,
      ),
    );

    const resumed = await runHubCli(t.dir, ["rollout", "resume", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^state +running/m);
    expect(resumed.stderr).toBe(
      "note: resumed with 3 failure(s) so far accepted: only failures from now on count toward the threshold\n",
    );
    const events = await t.hub.store.listEvents({ limit: 100, subject: id });
    expect(events.find((e) => e.kind === "rollout.resumed")?.data).toEqual({ acceptedFailures: 3 });
  });

  it("with autoRollback, fail the rollout and send the updated agents back", async () => {
    const t = await session.start();
    const { agents, deploys, rest, view, halted } = await pausedCanary(t, true);
    await reportAcked(agents[0]!, deploys[0]!, "succeeded");
    await reportAcked(agents[1]!, deploys[1]!, "failed");
    await reportAcked(agents[2]!, deploys[2]!, "failed");
    await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("failed");
    expect((await view()).reason).toBe(
      "failure threshold (2 failure(s)) reached: 2 failed when it halted (while paused by an operator); rollback sent to 1 agent(s)",
    );
    const back = await agents[0]!.next(isDeploy);
    expect(parseDeploymentId(back.deploymentId).rollback).toBe(true);
    expect(back.release.version).toBe("1.0.0");
    expect(await halted()).toHaveLength(1);
    expect(rest.received.filter((m) => m.type === "deploy")).toEqual([]);
    const states = (await view()).waves.flatMap((w) => w.agents.map((a) => `${a.agentId} ${a.state}`));
    expect(states.sort()).toEqual(["c1 rollback_pending", "c2 failed", "c3 failed", "m1 cancelled"]);
  });
});
