/**
 * `ship-hub rollout abort ID` (without --rollback) calls nobody back: agents already sent the
 * release finish their update and count. The CLI printed "aborted" and nothing more, so an operator
 * took the hosts mid-update for stopped. It now says how many finish, and how to send them back.
 * Real hub (in process) over real WebSocket, the real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked } from "./support.js";

const session = hubPerTest();

describe("abort while agents are updating", () => {
  it("says they finish, and how to send them back", async () => {
    requireHubBin();
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const a1 = await session.connect(t, "a1");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    const deploy = await a1.next(isType("deploy"));
    const aborted = await runHubCli(t.dir, ["rollout", "abort", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toMatch(/^state +aborted/m);
    expect(aborted.stderr).toBe(
      `note: 1 agent(s) already sent the release finish their update; \`rollout abort ${id} --rollback\` sends the updated ones back\n`,
    );
    // As it said: a1 finishes, and counts.
    await reportAcked(a1, deploy, "succeeded");
    const view = await t.api<{ counts: Record<string, number> }>("GET", `/api/v1/rollouts/${id}`, {
      token: t.operator,
    });
    expect(view.body.counts).toEqual({ succeeded: 1 });
  });
});

describe("pause while agents are updating", () => {
  it("says they finish and that their failures still count", async () => {
    requireHubBin();
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const a1 = await session.connect(t, "a1");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
      })
    ).body.id;
    const deploy = await a1.next(isType("deploy"));
    const paused = await runHubCli(t.dir, ["rollout", "pause", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^state +paused by an operator/m);
    expect(paused.stderr).toBe(
      "note: no agent is sent the release while paused, but 1 agent(s) already sent it finish their update; their failures still count toward the threshold\n",
    );
    // As it said: a1 finishes, fails, and the paused rollout halts on it.
    await reportAcked(a1, deploy, "failed");
    const view = await t.api<{ reason: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator });
    expect(view.body.reason).toMatch(/^failure threshold \(1 failure\(s\)\) reached/);
  });
});
