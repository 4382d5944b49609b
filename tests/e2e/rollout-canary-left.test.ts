/**
 * A canary that succeeds, then is put back on the older release on its host (`ship --rollback`):
 * the hub kept its deployment `succeeded`, and auto-advance passed the canary wave when its
 * waitMinutes were up, sending the rest of the fleet a release the canary no longer ran. Now the
 * agent's announcement of the change fails the deployment, naming what the host runs, and the
 * rollout halts in the canary wave; `rollout show`, `--json` and the API say the same. Real hub,
 * real agent processes, a real `ship --rollback`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHubCli } from "../support/hub-cli.js";
import { runShip } from "../support/ship-cli.js";
import { APP, Fleet } from "./fleet.js";

interface Detail {
  state: string;
  reason: string | null;
  currentWave: number;
  progress: Record<string, number>;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
}

describe("a canary put back on the older release after it succeeded (real hub, real agents)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 2 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const detail = (id: string) => fleet.api<Detail>("GET", `/rollouts/${id}`);
  const stateOf = async (id: string, agentId: string) =>
    (await detail(id)).waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId);

  it("fails the canary and halts the rollout in its wave: the rest of the fleet is not sent the release", {
    timeout: 180_000,
  }, async () => {
    const release = await fleet.publish({ version: "2.0.0" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [
        // A minute's soak: long enough for the host's rollback to be announced within it.
        { name: "canary", agents: ["agent-1"], waitMinutes: 1 },
        { name: "rest", agents: ["agent-2"] },
      ],
      autoAdvance: true,
      failureThreshold: { count: 1 },
    });
    await fleet.waitFor(
      "the canary updated",
      async () => (await stateOf(id, "agent-1"))?.state === "succeeded",
    );
    expect(await fleet.appVersion(0)).toBe("2.0.0");

    const agent = fleet.agent(0);
    const listed = await runShip(["--config", agent.configFile, "--list-backups", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const backup = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    expect(backup).toBeDefined();
    const restored = await runShip(["--config", agent.configFile, "--rollback", backup?.id ?? ""]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await fleet.appVersion(0)).toBe("1.0.0");

    // Before: still running, and past the canary's minute it advanced to agent-2.
    await fleet.waitFor(
      "the rollout no longer running in its canary wave",
      async () => {
        const d = await detail(id);
        return d.state !== "running" || d.currentWave > 0;
      },
      120_000,
    );
    const view = await detail(id);
    expect({ state: view.state, wave: view.currentWave }, JSON.stringify(view)).toEqual({
      state: "paused",
      wave: 0,
    });
    expect(view.reason).toMatch(/^failure threshold \(/);
    const canary = await stateOf(id, "agent-1");
    expect(canary?.state).toBe("failed");
    expect(canary?.error).toMatch(
      new RegExp(`^left ${APP} 2\\.0\\.0 after it succeeded: the host runs ${APP} 1\\.0\\.0 now`),
    );
    expect((await stateOf(id, "agent-2"))?.state).toBe("pending");
    expect(await fleet.appVersion(1)).toBe("1.0.0");

    const cli = (...args: string[]) =>
      runHubCli(fleet.dir, ["rollout", "show", id.slice(0, 8), ...args, "--hub", fleet.hubUrl], {
        SHIP_HUB_TOKEN: fleet.operator,
      });
    const shown = await cli();
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^state\s+paused/m);
    expect(shown.stdout.replace(/\s+/g, " ")).toContain(canary?.error?.replace(/\s+/g, " ") ?? "?");
    const json = JSON.parse((await cli("--json")).stdout) as Detail;
    expect({ state: json.state, progress: json.progress, reason: json.reason }).toEqual({
      state: view.state,
      progress: view.progress,
      reason: view.reason,
    });
  });
});
