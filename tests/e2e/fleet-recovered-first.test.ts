/**
 * A hub instruction that finds a killed `ship` run to recover first (a timer or hand run cut by a
 * power loss or an OOM kill beside the idle daemon), then cannot reach its release (the release
 * server answers 503 for a while). The recovery made the failure "failed_restored": the agent
 * reported it `rolled_back`, the hub counted the host failed and halted the wave, and the
 * instruction was never tried again, where the same 503 without a recovery is retried until the
 * server is back. Meanwhile the hub listed the app as the killed run had found it ("1.0.0
 * updated"): the agent took the hello after the deferred attempt as told. Real hub, real agent, a
 * real `ship` run SIGKILLed mid-apply.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileServerForFile } from "../support/servers/file-server.js";
import { runShip } from "../support/ship-cli.js";
import { APP, Fleet, writeRelease } from "./fleet.js";

interface AgentView {
  id: string;
  apps: { app: string; version: string | null; state: string }[];
}

describe("a hub instruction that recovers a killed run first, then meets an unreachable release", () => {
  const server = fileServerForFile();
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("is retried, not reported failed: the hub hears the host went back, then the update's success", {
    timeout: 120_000,
  }, async () => {
    const agent = fleet.agent(0);
    const v2 = join(fleet.dir, "releases", "2.0.0");
    await writeRelease(v2, {
      version: "2.0.0",
      files: { "lib/a.txt": "a\n", "lib/b.txt": "b\n", "lib/c.txt": "c\n" },
    });
    // A run by hand of the same app from a local copy of 2.0.0, killed at the second file it applies.
    const hand = join(agent.root, "hand.toml");
    const v1Path = join(agent.root, "..", "..", "v1");
    await writeFile(hand, (await readFile(agent.configFile, "utf8")).replace(`"${v1Path}"`, `"${v2}"`));
    const killed = await runShip(["--config", hand, "--force"], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code, killed.stderr).toBeNull();

    // The same 2.0.0 published with a URL on a server that is not serving it yet.
    const archive = `${v2}.tar.gz`;
    await createTar({ gzip: true, file: archive, cwd: v2, portable: true }, ["."]);
    const body = await readFile(archive);
    server.routes.set("/sample-2.0.0.tar.gz", { body, failTimes: 1_000_000, failStatus: 503 });
    const published = await fleet.api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: APP,
        version: "2.0.0",
        manifest: await readFile(join(v2, "update-manifest.yaml"), "utf8"),
        source: {
          type: "http",
          url: `${server.url}/sample-2.0.0.tar.gz`,
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
    const log = () => readFile(join(agent.root, "agent.log"), "utf8");
    await fleet.waitFor("the agent to retry the unreachable release", async () =>
      (await log()).includes("could not start this instruction now; trying again later"),
    );
    // The killed run was undone by the instruction's recovery: the host is whole on 1.0.0.
    expect(await fleet.appVersion(0)).toBe("1.0.0");
    const view = await fleet.rollout(id);
    expect(view.state, view.reason ?? "").toBe("running");
    expect(view.waves[0]?.agents[0]?.state).toMatch(/^(sent|in_progress)$/);
    // The hub hears that the host went back while the instruction waits: it listed the app as
    // "1.0.0 updated", the run before the killed one, until the update's report came.
    const appOf = async () => {
      const { agents } = await fleet.api<{ agents: AgentView[] }>("GET", "/agents");
      return agents.find((a) => a.id === agent.id)?.apps.find((a) => a.app === APP);
    };
    await expect
      .poll(appOf, { timeout: 30_000, interval: 250 })
      .toMatchObject({ version: "1.0.0", state: "failed_restored" });

    const route = server.routes.get("/sample-2.0.0.tar.gz");
    if (route !== undefined) route.failTimes = 0;
    await fleet.waitFor(
      "the rollout to complete",
      async () => (await fleet.rollout(id)).state === "completed",
    );
    expect((await fleet.rollout(id)).counts).toEqual({ succeeded: 1 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    for (const name of ["a", "b", "c"])
      expect(await readFile(join(agent.appDir, "lib", `${name}.txt`), "utf8")).toBe(`${name}\n`);
  });
});
