/**
 * A release whose `require_manual_intervention` conditional holds, rolled out by the hub: the host
 * installs nothing and the operator, who reads the hub and not the host's terminal, sees that it
 * waits for a person, the steps, and how to go on. Before, the hub showed "failed: <message>"
 * without the steps, as if the release had broken the host.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

const run = promisify(execFile);
const SHIP = resolve("dist/agent/cli/main.cjs");

describe("manual intervention in hub mode (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const settled = (id: string) =>
    fleet.waitFor(`rollout ${id} settled`, async () =>
      (await fleet.rollout(id)).waves.every((w) =>
        w.agents.every((a) => !["pending", "sent", "in_progress"].includes(a.state)),
      ),
    );
  const rollout = async (release: string) =>
    (
      await fleet.api<{ id: string }>("POST", "/rollouts", {
        release,
        waves: [{ name: "all", percent: 100 }],
        autoAdvance: true,
      })
    ).id;

  it("the hub names the wait and the steps; after ship --approve on the host the next rollout installs", {
    timeout: 90_000,
  }, async () => {
    const release = await fleet.publish({
      version: "2.0.0",
      conditionals: [
        {
          condition: "current_version < '2.0.0'",
          action: "require_manual_intervention",
          message: "Major version upgrade",
          manual_steps: ["Create database backup", "Review CHANGELOG.md"],
        },
      ],
    });
    const first = await rollout(release);
    await settled(first);
    const [host] = (await fleet.rollout(first)).waves.flatMap((w) => w.agents);
    expect(host?.state).toBe("failed"); // the wave counts a host that did not take the release
    expect(host?.error).toMatch(/^agent skipped the update: Major version upgrade/);
    expect(host?.error).toContain("manual steps: Create database backup; Review CHANGELOG.md");
    expect(host?.error).toContain("--approve sample 2.0.0");
    expect(host?.error).toContain("roll the release out to this host again");
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    const detail = await fleet.api<{ apps: { app: string; state: string }[] }>("GET", "/agents/agent-1");
    expect(detail.apps.find((a) => a.app === "sample")?.state).toBe("skipped");

    // What the hub told the operator to do, done on the host: approve, then roll out again.
    const agent = fleet.agent(0);
    await run(process.execPath, [SHIP, "--config", agent.configFile, "--approve", "sample", "2.0.0"]);
    const view = await fleet.rollout(first);
    if (!["completed", "failed", "aborted"].includes(view.state))
      await fleet.api("POST", `/rollouts/${first}/abort`, {});
    const second = await rollout(release);
    await settled(second);
    const [again] = (await fleet.rollout(second)).waves.flatMap((w) => w.agents);
    expect(again?.state).toBe("succeeded");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
