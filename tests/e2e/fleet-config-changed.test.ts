/**
 * `ship agent` reads ship.toml once, at start, and runs for weeks. An operator who held an app back
 * on a host with `enabled = false` (the README's way) saw the hub's next release installed there
 * anyway: the running agent still had the old config. Now, finding ship.toml changed when an
 * instruction comes, it exits 75 before acting (its unit starts it again), and the agent started
 * with the edited file takes no release for the app. A real hub and real agents.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, Fleet } from "./fleet.js";

describe("ship agent after its ship.toml was edited (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("exits 75 before the instruction, and the restarted agent holds the app back", {
    timeout: 90_000,
  }, async () => {
    const agent = fleet.agent(0);
    const exited = new Promise<number | null>((resolve) => agent.process?.once("exit", resolve));
    const toml = await readFile(agent.configFile, "utf8");
    expect(toml).toContain(`[sources.${APP}]\n`);
    await writeFile(
      agent.configFile,
      toml.replace(`[sources.${APP}]\n`, `[sources.${APP}]\nenabled = false\n`),
    );

    const release = await fleet.publish({ version: "2.0.0" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "one", agents: [agent.id] }],
    });
    const settled = () =>
      fleet.waitFor("the rollout settled", async () => {
        const counts = (await fleet.rollout(id)).counts;
        return counts.in_progress === undefined && counts.sent === undefined && counts.pending === undefined;
      });
    // Before: the release was installed with the config of before the edit, and the agent ran on.
    expect(await Promise.race([exited, settled().then(() => "settled")])).toBe(75);
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    const log = await readFile(join(agent.root, "agent.log"), "utf8");
    expect(log).toContain(`${agent.configFile} changed since this agent read it`);

    // systemd starts the unit again (Restart=on-failure): the edited config holds the app back.
    await fleet.startAgent(0);
    await settled();
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    const view = await fleet.rollout(id);
    expect(view.counts, JSON.stringify(view)).toEqual({ not_applicable: 1 });
  });

  it("idle, takes up new labels by itself; an edit that does not load is said and changes nothing", {
    timeout: 90_000,
  }, async () => {
    const agent = fleet.agent(0);
    const log = join(agent.root, "agent.log");
    const toml = await readFile(agent.configFile, "utf8");
    // Half an edit: the agent must not stop on it (a restart would be exit 2, the unit failed).
    await writeFile(
      agent.configFile,
      `${toml}
[hub
`,
    );
    await fleet.waitFor("the refused edit said", async () =>
      (await readFile(log, "utf8")).includes("changed but cannot be used"),
    );
    expect(agent.process?.exitCode).toBeNull();

    const exited = new Promise<number | null>((resolve) => agent.process?.once("exit", resolve));
    expect(toml).toMatch(/^labels = .*$/m);
    await writeFile(agent.configFile, toml.replace(/^labels = .*$/m, 'labels = { ring = "late" }'));
    // Before: the agent ran on with its old labels until someone restarted it. The exit is awaited
    // itself; the bound is the fleet's wait for an event (45 s): 20 s, of which the agent's idle
    // check takes up to 5, was within reach of a loaded machine.
    expect(await Promise.race([exited, sleep(45_000).then(() => "still running 45 s after the edit")])).toBe(
      75,
    );
    await fleet.startAgent(0);
    await fleet.waitFor("the hub sees the new labels", async () => {
      const seen = await fleet.api<{ online: boolean; labels: Record<string, string> }>(
        "GET",
        `/agents/${agent.id}`,
      );
      return seen.online && seen.labels.ring === "late";
    });
  });

  it("an edit that nests two app_dirs is said in one line naming the file and both sources, and changes nothing", {
    timeout: 90_000,
  }, async () => {
    const agent = fleet.agent(0);
    const log = join(agent.root, "agent.log");
    const view = () => fleet.api<{ online: boolean; apps: unknown[] }>("GET", `/agents/${agent.id}`);
    await fleet.waitFor("the restarted agent online", async () => (await view()).online);
    const announced = (await view()).apps;
    const before = (await readFile(log, "utf8")).length;
    const toml = await readFile(agent.configFile, "utf8");
    const plugin = join(agent.appDir, "plugin");
    // A second app placed inside the first: a start refuses it (exit 2), so the running agent must
    // neither restart into that refusal nor take the plugin up.
    await writeFile(agent.configFile, `${toml}\n[sources.plugin]\ntype = "hub"\napp_dir = "${plugin}"\n`);
    const refusal = async () =>
      (await readFile(log, "utf8"))
        .slice(before)
        .split("\n")
        .filter((line) => line.includes("changed but cannot be used"));
    await fleet.waitFor("the refused edit said", async () => (await refusal()).length > 0);
    const [line] = await refusal();
    expect(line).toContain(`${agent.configFile} changed but cannot be used: `);
    expect(line).toContain(
      `sources.${APP}.app_dir, sources.plugin.app_dir: ${plugin} is inside ${agent.appDir}`,
    );
    expect(line).toContain("going on with the config read at start");
    expect(agent.process?.exitCode).toBeNull();
    // Nothing of the plugin: no directory made, and the hub was not told of an app named plugin.
    expect(existsSync(plugin)).toBe(false);
    const seen = await view();
    expect(seen.online).toBe(true);
    expect(seen.apps).toEqual(announced);
    expect(JSON.stringify(seen.apps)).not.toContain("plugin");
    expect(await fleet.appVersion(0)).toBe("1.0.0");
  });
});
