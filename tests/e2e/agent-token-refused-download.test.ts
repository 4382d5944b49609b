/**
 * An instruction that waits on the host (its app held by another ship run) while the agent's token
 * stops being taken by the hub: revoked and replaced (the README's rotation of a leaked token), or
 * expired while the agent was away. Its download from the hub's artifact store met the hub's 401,
 * and the agent reported the deployment failed ("HTTP 401"), which the hub counted against the wave
 * once the operator's new token let the report through: a release nobody faulted halted a rollout.
 * Now the instruction waits, as the channel does, and runs with the token the operator writes.
 * Real hub, real agent, real `ship-hub token` CLI.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireAppLock } from "../../agent/lock/run-lock.js";
import { memoryLogger } from "../../shared/log.js";
import { runHubCli } from "../support/hub-cli.js";
import { fleetForFile } from "./fleet-for-file.js";

describe("a waiting instruction whose agent token the hub stops taking (real hub, real agent)", () => {
  const started = fleetForFile({ agents: 1, hubOnly: true });
  const tokenCli = async (...args: string[]) => {
    const { code, stdout, stderr } = await runHubCli(started.fleet.dir, [
      "token",
      ...args,
      "--config",
      "hub.toml",
    ]);
    if (code !== 0) throw new Error(`ship-hub token ${args.join(" ")}: exit ${code}: ${stderr}`);
    return stdout.trim();
  };
  const agent = () => started.fleet.agent(0);
  const agentLog = () => readFile(join(agent().root, "agent.log"), "utf8");
  const online = async () => (await started.fleet.api<{ online: boolean }>("GET", "/agents/agent-1")).online;

  it("waits for a token the hub takes instead of failing the deployment, then installs the release", {
    timeout: 120_000,
  }, async () => {
    const { fleet } = started;
    const tokenFile = join(agent().root, "token");
    const issued = (await readFile(tokenFile, "utf8")).trim();
    const { jti } = JSON.parse(Buffer.from(issued.split(".")[1] ?? "", "base64url").toString()) as {
      jti: string;
    };
    // Another ship run holds the app: the instruction is received and put off, nothing downloaded.
    const held = await acquireAppLock(join(agent().root, "state", "locks"), agent().appDir, memoryLogger());
    let rolloutId: string;
    try {
      const release = await fleet.publish({ version: "2.0.0" });
      rolloutId = await fleet.rolloutToAll(release);
      await fleet.waitFor("the instruction put off", async () =>
        (await agentLog()).includes("could not start this instruction now"),
      );
      expect(await tokenCli("revoke", jti)).toBe(`revoked ${jti}`);
      await fleet.waitFor("agent offline after revoke", async () => !(await online()), 15_000);
    } finally {
      await held.release();
    }
    // The app is free: the next try meets the hub's 401 for the artifact.
    await fleet.waitFor("the artifact download refused", async () => (await agentLog()).includes("HTTP 401"));
    const replacement = await tokenCli("create", "--role", "agent", "--agent", "agent-1");
    await writeFile(tokenFile, `${replacement}\n`);

    await fleet.waitFor(
      "the rollout to end",
      async () => (await fleet.rollout(rolloutId)).state !== "running",
    );
    const view = await fleet.rollout(rolloutId);
    expect(view.waves[0]?.agents).toEqual([
      expect.objectContaining({ agentId: "agent-1", state: "succeeded", error: null }),
    ]);
    expect(view.state).toBe("completed");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    // Said at WARNING as a wait, and no line at ERROR: no instruction failed.
    const lines = (await agentLog())
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });
    const waits = lines.filter(
      (l) => l.level === 40 && l.msg.startsWith("could not start this instruction now"),
    );
    expect(waits.map((l) => l.reason)).toContainEqual(
      expect.stringMatching(
        /HTTP 401: token revoked \(the hub refused this agent's token; the instruction waits/,
      ),
    );
    expect(lines.filter((l) => l.level >= 50 && l.msg.includes("instruction"))).toEqual([]);
  });
});
