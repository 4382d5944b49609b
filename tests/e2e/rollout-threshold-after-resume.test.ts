/**
 * A percent failure threshold after an operator's resume: the failures accepted were left out of
 * the count but kept in its base, so `{percent: 100}` could never be reached again — a canary that
 * failed, a resume, and every later agent failing ended "completed — 3 agent(s) failed" beside
 * "halt at 100 % failed". The accepted agents now leave the base as well: the new failures are
 * judged against the agents not accepted.
 *
 * And a pause by hand and a resume of a rollout that had NOT halted accepted every failure so far
 * too: an operator who paused under a count threshold of 2 to look at one failed canary, and
 * resumed, saw the next failure pass ("1 accepted on a resume") and the rollout go on. Only a
 * halt's failures are accepted; a pause to look forgives nothing.
 *
 * Real hub, real agent processes, the real CLI's pause and resume.
 */
import { describe, expect, it } from "vitest";
import { runHubCli } from "../support/hub-cli.js";
import { fleetForFile } from "./fleet-for-file.js";

describe("failures a resume accepts (real hub, real agents)", () => {
  const started = fleetForFile({ agents: 3 });
  const hubCli = (args: string[]) => {
    const { fleet } = started;
    return runHubCli(fleet.dir, [...args, "--hub", fleet.hubUrl], { SHIP_HUB_TOKEN: fleet.operator });
  };

  it("a percent threshold halts again when every agent updated since fails", {
    timeout: 120_000,
  }, async () => {
    const { fleet } = started;
    const release = await fleet.publish({ version: "2.0.0", test: "false" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [
        { name: "canary", agents: ["agent-1"] },
        { name: "rest", percent: 100 },
      ],
      failureThreshold: { percent: 100 },
      autoAdvance: true,
    });
    const halted = async () => {
      const view = await fleet.rollout(id);
      return (
        view.state !== "running" && view.counts.in_progress === undefined && view.counts.sent === undefined
      );
    };
    await fleet.waitFor("the canary's failure halts the rollout", halted);
    expect((await fleet.rollout(id)).reason).toMatch(/^failure threshold \(100% failed/);

    // The operator accepts the canary's failure and sends the release on to the rest.
    for (const verb of ["resume", "advance"]) {
      const done = await hubCli(["rollout", verb, id]);
      expect(done.code, done.stderr).toBe(0);
    }
    await fleet.waitFor("both agents of the rest report", async () => {
      const view = await fleet.rollout(id);
      const rest = view.waves[1]?.agents ?? [];
      return rest.length === 2 && rest.every((a) => a.state === "failed");
    });
    await fleet.waitFor("the rollout stops", halted);
    const view = await fleet.rollout(id);
    expect({ state: view.state, reason: view.reason }).toEqual({
      state: "paused",
      reason:
        "failure threshold (100% failed of the agents it updates) reached: 2 of the 2 agent(s) it updated failed when it halted (1 accepted on a resume, not counted)",
    });
    expect([await fleet.appVersion(1), await fleet.appVersion(2)]).toEqual(["1.0.0", "1.0.0"]);
    const shown = await hubCli(["rollout", "show", id]);
    expect(shown.stdout).toContain(
      "counted  3 of 3 updated failed in the waves started (1 accepted on a resume, not counted)",
    );
    expect((await hubCli(["rollout", "abort", id])).code).toBe(0);
  });

  it("a pause by hand and a resume keep counting the failures so far toward the threshold", {
    timeout: 120_000,
  }, async () => {
    const { fleet } = started;
    const release = await fleet.publish({ version: "2.0.1", test: "false" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [
        { name: "canary", agents: ["agent-1"] },
        { name: "rest", agents: ["agent-2"] },
      ],
      failureThreshold: { count: 2 },
      autoAdvance: false,
    });
    await fleet.waitFor("the canary fails", async () => (await fleet.rollout(id)).counts.failed === 1);
    expect((await fleet.rollout(id)).state).toBe("running");

    // The operator pauses to look, and resumes: the failure below the threshold is not forgiven.
    expect((await hubCli(["rollout", "pause", id])).code).toBe(0);
    const resumed = await hubCli(["rollout", "resume", id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      "note: 1 failure(s) so far still count toward the threshold: the rollout was paused, not halted on it, and a resume accepts failures only after a halt",
    );
    expect(resumed.stderr).not.toContain("accepted");
    const shown = await hubCli(["rollout", "show", id]);
    expect(shown.stdout).toContain("counted  1 of 1 updated failed in the waves started\n");

    expect((await hubCli(["rollout", "advance", id])).code).toBe(0);
    await fleet.waitFor("the second failure halts the rollout", async () => {
      const view = await fleet.rollout(id);
      return view.state === "paused" && view.counts.failed === 2;
    });
    expect((await fleet.rollout(id)).reason).toBe(
      "failure threshold (2 failure(s)) reached: 2 failed when it halted",
    );

    // After a halt the resume accepts them, as documented.
    const again = await hubCli(["rollout", "resume", id]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("note: resumed with 2 failure(s) so far accepted");
  });
});
