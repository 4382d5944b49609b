/**
 * A hub instruction that finds a killed `ship` run to recover first (a timer or hand run cut by a
 * power loss or an OOM kill beside the idle daemon). Real hub, real agent, a real `ship` run
 * SIGKILLed mid-apply.
 * - Its release server then answered 503 for a while: the recovery made that "failed_restored", the
 *   agent reported it `rolled_back`, the hub counted the host failed and halted the wave, and the
 *   instruction was never tried again, where the same 503 without a recovery is retried until the
 *   server is back. Meanwhile the hub listed the app as the killed run had found it ("1.0.0
 *   updated"): the agent took the hello after the deferred attempt as told.
 * - A failure after the recovery reached the hub without it: "sha256 mismatch", outcome rolled_back,
 *   of a release that never touched the host; the files the killed run moved went unmentioned.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create as createTar } from "tar";
import { beforeEach, describe, expect, it } from "vitest";
import type { FileRoute } from "../support/servers/file-routes.js";
import { fileServerForFile } from "../support/servers/file-server.js";
import { runShip } from "../support/ship-cli.js";
import { APP, type Fleet, writeRelease } from "./fleet.js";
import { fleetForFile } from "./fleet-for-file.js";

interface AgentView {
  id: string;
  apps: { app: string; version: string | null; state: string }[];
}

describe("a hub instruction that recovers a killed ship run first", () => {
  const server = fileServerForFile();
  const fleetOfFile = fleetForFile({ agents: 1 });
  let fleet: Fleet;
  beforeEach(() => {
    fleet = fleetOfFile.fleet;
  });

  const agentLog = () => readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
  const appAtHub = async () => {
    const { agents } = await fleet.api<{ agents: AgentView[] }>("GET", "/agents");
    return agents.find((a) => a.id === fleet.agent(0).id)?.apps.find((a) => a.app === APP);
  };

  /**
   * `version` run by hand from a local copy, killed at the second file it applies; then published
   * with a URL on the test's server (`route` as it answers) and rolled out. The rollout's id.
   */
  const killedRunThenRollout = async (version: string, installed: string, route: Omit<FileRoute, "body">) => {
    const agent = fleet.agent(0);
    const dir = join(fleet.dir, "releases", version);
    const files = Object.fromEntries(["a", "b", "c"].map((n) => [`lib/${n}.txt`, `${n} of ${version}\n`]));
    await writeRelease(dir, { version, files });
    const hand = join(agent.root, `hand-${version}.toml`);
    const v1Path = join(agent.root, "..", "..", "v1");
    await writeFile(hand, (await readFile(agent.configFile, "utf8")).replace(`"${v1Path}"`, `"${dir}"`));
    const killed = await runShip(["--config", hand, "--force"], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code, killed.stderr).toBeNull();
    expect(await fleet.appVersion(0)).not.toBe(installed);

    const archive = `${dir}.tar.gz`;
    await createTar({ gzip: true, file: archive, cwd: dir, portable: true }, ["."]);
    const body = await readFile(archive);
    server.routes.set(`/${APP}-${version}.tar.gz`, { body, ...route });
    const published = await fleet.api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: APP,
        version,
        manifest: await readFile(join(dir, "update-manifest.yaml"), "utf8"),
        source: {
          type: "http",
          url: `${server.url}/${APP}-${version}.tar.gz`,
          sha256: createHash("sha256").update(body).digest("hex"),
        },
      },
      fleet.ci,
    );
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: published.id,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    return id;
  };

  it("then meets an unreachable release: retried, not reported failed; the hub hears the host went back", {
    timeout: 120_000,
  }, async () => {
    const id = await killedRunThenRollout("2.0.0", "1.0.0", { failTimes: 1_000_000, failStatus: 503 });
    await fleet.waitFor("the agent to retry the unreachable release", async () =>
      (await agentLog()).includes("could not start this instruction now; trying again later"),
    );
    // The killed run was undone by the instruction's recovery: the host is whole on 1.0.0.
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    const view = await fleet.rollout(id);
    expect(view.state, view.reason ?? "").toBe("running");
    expect(view.waves[0]?.agents[0]?.state).toMatch(/^(sent|in_progress)$/);
    // It listed the app as "1.0.0 updated", the run before the killed one, until the update's report.
    await expect
      .poll(appAtHub, { timeout: 30_000, interval: 250 })
      .toMatchObject({ version: "1.0.0", state: "failed_restored" });

    const route = server.routes.get(`/${APP}-2.0.0.tar.gz`);
    if (route !== undefined) route.failTimes = 0;
    await fleet.waitFor(
      "the rollout to complete",
      async () => (await fleet.rollout(id)).state === "completed",
    );
    expect((await fleet.rollout(id)).counts).toEqual({ succeeded: 1 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    for (const name of ["a", "b", "c"])
      expect(await readFile(join(fleet.agent(0).appDir, "lib", `${name}.txt`), "utf8")).toBe(
        `${name} of 2.0.0\n`,
      );
  });

  it("then fails for good: the hub's error says what the recovery put back before the failure", {
    timeout: 120_000,
  }, async () => {
    // The server answers 404 for good: no retry, a failed report.
    const id = await killedRunThenRollout("3.0.0", "2.0.0", { failTimes: 1_000_000, failStatus: 404 });
    await fleet.waitFor("the rollout to halt", async () => (await fleet.rollout(id)).state !== "running");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    const deployment = (await fleet.rollout(id)).waves[0]?.agents[0];
    expect(deployment?.state).toBe("failed");
    expect(deployment?.error).toMatch(
      /^rolled back: recovered 2\.0\.0 after an interrupted update to 3\.0\.0; then .*404/,
    );
  });
});
