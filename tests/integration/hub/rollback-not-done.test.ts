/**
 * A rollback its agent reports as not done (it failed, or the agent refused it: the app disabled
 * there since) leaves that host on the release the operator took back. It was counted among the
 * failures only: `rollout show`'s "not rolled back" line, the dashboard's red notice and
 * `notRolledBack` named just the agents the hub could not send back, so the operator read the
 * rollback as done on every other host. Real hub (in process) over real WebSocket, the real CLI.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

const connect = (t: TestHub, id: string, apps = ["web"]) =>
  session.connect(
    t,
    id,
    apps.map((app) => ({ app, version: "1.0.0", state: "updated", releaseId: undefined })),
  );

type View = {
  state: string;
  notRolledBack: string[];
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};

describe("a rollback its agent did not carry out", () => {
  it("is named as not rolled back, with the agent's reason", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: v2, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await reportAcked(a2, await a2.next(isDeploy), "succeeded");
    const aborted = await runHubCli(t.dir, ["rollout", "abort", id, "--rollback", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(aborted.code).toBe(0);
    const back1: Deploy = await a1.next(isDeploy);
    const back2: Deploy = await a2.next(isDeploy);
    await reportAcked(a1, { ...back1, release: { ...back1.release, version: "1.0.0" } }, "succeeded");
    // a2's operator had set enabled = false meanwhile: the agent refuses the instruction.
    const reportId = randomUUID();
    a2.send({
      type: "report",
      reportId,
      deploymentId: back2.deploymentId,
      app: "web",
      releaseId: back2.release.id,
      outcome: "failed",
      fromVersion: "2.0.0",
      toVersion: "1.0.0",
      steps: [],
      error: "[sources.web] has enabled = false in this agent's ship.toml: it takes no releases for web",
    });
    await a2.next(
      (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );

    const view = (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    expect(view.notRolledBack).toEqual(["a2"]);
    expect(view.waves[0]?.agents.find((a) => a.agentId === "a2")?.error).toBe(
      "rollback failed: [sources.web] has enabled = false in this agent's ship.toml: it takes no releases for web",
    );
    const shown = await runHubCli(t.dir, ["rollout", "show", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(shown.stdout).toMatch(/^not rolled back {2}a2$/m);
    // The reason counts it too, in the detail and in the list alike (it read "1 rolled back" alone).
    const reason =
      "aborted; rollback sent to 2 agent(s); now: 1 rolled back, 1 answered that it failed or refused it (not rolled back)";
    expect(
      (await t.api<{ reason: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.reason,
    ).toBe(reason);
    const listed = await t.api<{ rollouts: { id: string; reason: string }[] }>("GET", "/api/v1/rollouts", {
      token: t.operator,
    });
    expect(listed.body.rollouts.find((r) => r.id === id)?.reason).toBe(reason);
  });
});
