/**
 * An agent that no longer takes the app (its source disabled or removed in ship.toml while it was
 * offline) is not sent the rollout's release when it comes back: its deployment is
 * `not_applicable`, which the wave counts neither as a member nor as a failure, and which the API,
 * the CLI and the dashboard's figures name. Before, the hub sent it at hello, the agent refused,
 * and that refusal crossed the failure threshold: the rollout halted on a "failure" that said
 * nothing about the release. Real hub, real agent processes over a real WebSocket.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, Fleet } from "./fleet.js";

const execFileAsync = promisify(execFile);

interface Detail {
  state: string;
  reason: string | null;
  progress: Record<string, number>;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
}

describe("an agent whose hello no longer names the app (real hub, real agents)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 3 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const editConfig = async (index: number, edit: (toml: string) => string) => {
    const { configFile } = fleet.agent(index);
    await writeFile(configFile, edit(await readFile(configFile, "utf8")));
  };
  const detail = (id: string) => fleet.api<Detail>("GET", `/rollouts/${id}`);
  const stateOf = (view: Detail, agentId: string) =>
    view.waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId);

  it("is not sent the release, does not halt the rollout, and is named as not applicable", {
    timeout: 120_000,
  }, async () => {
    await fleet.stopAgent(1);
    await fleet.stopAgent(2);
    // The canary holds exactly the two hosts that will leave the app; one failure halts.
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "2.0.0" }),
      waves: [
        { name: "canary", agents: ["agent-2", "agent-3"] },
        { name: "all", percent: 100 },
      ],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    await editConfig(1, (toml) => toml.replace(`[sources.${APP}]\n`, `[sources.${APP}]\nenabled = false\n`));
    // The source renamed: this host's ship.toml has no [sources.sample] any more.
    await editConfig(2, (toml) => toml.replace(`[sources.${APP}]\n`, "[sources.other]\n"));
    await fleet.startAgent(1);
    await fleet.startAgent(2);

    // A canary every agent of which left tested nothing: auto-advance holds it for an operator
    // (hub23) rather than send the release on untested; the operator's advance passes it.
    await fleet.waitFor(
      "the canary held for an operator",
      async () =>
        (await detail(id)).reason?.startsWith("waiting for an operator: wave 1 (canary) tested nothing") ===
        true,
      90_000,
    );
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    await fleet.api("POST", `/rollouts/${id}/advance`);
    await fleet.waitFor(
      "the rollout completed",
      async () => (await detail(id)).state === "completed",
      90_000,
    );
    const view = await detail(id);
    // No failure, and the two hosts left out are said (not a bare "completed").
    expect(view.reason).toBe(
      "2 agent(s) not applicable (no longer take the app or fit the selector): not sent the release",
    );
    for (const agentId of ["agent-2", "agent-3"]) {
      const d = stateOf(view, agentId);
      expect(d?.state, agentId).toBe("not_applicable");
      expect(d?.error).toContain(`not applicable: ${agentId} no longer takes app ${APP}`);
    }
    expect(stateOf(view, "agent-1")?.state).toBe("succeeded");
    expect(view.progress).toMatchObject({ succeeded: 1, failed: 0, "not-applicable": 2 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    expect(await fleet.appVersion(1)).toBe("1.0.0");
    expect(await fleet.appVersion(2)).toBe("1.0.0");

    // The CLI names the state and why; `--watch` on the completed rollout exits 0.
    const show = await execFileAsync(
      process.execPath,
      [resolve("dist/hub/cli/main.js"), "rollout", "show", id, "--watch", "--hub", fleet.hubUrl],
      {
        env: { ...process.env, SHIP_HUB_TOKEN: fleet.operator },
      },
    );
    expect(show.stdout).toContain("not_applicable=2");
    expect(show.stdout).toMatch(/agent-2\s+not_applicable\s.*not applicable: agent-2 no longer takes app/);
  });

  it("is owed the release again once its hello names the app again", { timeout: 90_000 }, async () => {
    const id = (await fleet.api<{ rollouts: { id: string }[] }>("GET", "/rollouts")).rollouts[0]?.id ?? "";
    await fleet.stopAgent(1);
    await editConfig(1, (toml) => toml.replace("enabled = false\n", ""));
    await fleet.startAgent(1);
    await fleet.waitFor(
      "agent-2 updated",
      async () => stateOf(await detail(id), "agent-2")?.state === "succeeded",
    );
    expect(await fleet.appVersion(1)).toBe("2.0.0");
    expect(stateOf(await detail(id), "agent-3")?.state).toBe("not_applicable");
  });
});
