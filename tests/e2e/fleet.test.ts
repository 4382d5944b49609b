/**
 * The whole fleet, end to end: one real hub process and five real `ship agent` processes on one
 * fleet, scenarios in order (each starts from the versions the previous one left, which keeps the
 * folder within its time budget: starting a fleet costs more than a rollout).
 */
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, APP, Fleet } from "./fleet.js";

interface EventView {
  id: number;
  kind: string;
  subject: string;
}
interface AgentDetail {
  id: string;
  online: boolean;
  apps: { app: string; version: string | null }[];
  reports: { id: string; deploymentId: string | null }[];
}

const LABELS = (i: number) => (i === 0 ? { ring: "canary" } : { ring: "main" });

describe("a fleet of 5 agents and a hub, real processes", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 5, labels: LABELS });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const rollout = async (release: string, waves: unknown[]) =>
    (
      await fleet.api<{ id: string }>("POST", "/rollouts", {
        release,
        waves,
        failureThreshold: { count: 1 },
        autoAdvance: true,
      })
    ).id;
  const untilState = (id: string, state: string, timeoutMs?: number) =>
    fleet.waitFor(
      `rollout ${state}`,
      async () => {
        const view = await fleet.rollout(id);
        if (view.state !== state && view.state !== "running")
          throw new Error(`rollout is ${view.state}: ${view.reason}`);
        return view.state === state;
      },
      timeoutMs,
    );
  const events = async () =>
    [...(await fleet.api<{ events: EventView[] }>("GET", "/events?limit=1000")).events].reverse();
  const agentView = (id: string) => fleet.api<AgentDetail>("GET", `/agents/${id}`);

  it("happy path: label canary, then 34 %, then 100 %; config value and data kept; canary first", {
    timeout: 90_000,
  }, async () => {
    const id = await rollout(await fleet.publish({ version: "2.0.0" }), [
      { name: "canary", labels: { ring: "canary" } },
      { name: "a third", percent: 34 },
      { name: "everyone", percent: 100 },
    ]);
    await untilState(id, "completed");
    const view = await fleet.rollout(id);
    expect(view.counts).toEqual({ succeeded: 5 });
    expect(view.waves[0]?.agents.map((a) => a.agentId)).toEqual(["agent-1"]);
    for (const [i, agent] of fleet.agents.entries()) {
      expect(await fleet.appVersion(i)).toBe("2.0.0");
      const config = await readFile(join(agent.appDir, "config.toml"), "utf8");
      expect(config).toContain(`name = "host-${agent.id}"`);
      expect(config).toContain("workers = 4");
      expect(await readFile(join(agent.appDir, "data", "records.txt"), "utf8")).toBe(
        `records of ${agent.id}\n`,
      );
      expect((await agentView(agent.id)).apps.find((a) => a.app === APP)?.version).toBe("2.0.0");
    }
    const log = (await events()).filter((e) => e.subject.startsWith(id));
    const canaryDone = log.findIndex(
      (e) => e.kind === "deployment.succeeded" && e.subject.endsWith(":agent-1"),
    );
    const firstOtherSent = log.findIndex(
      (e) => e.kind === "deployment.sent" && !e.subject.endsWith(":agent-1"),
    );
    expect(canaryDone).toBeGreaterThanOrEqual(0);
    expect(firstOtherSent).toBeGreaterThan(canaryDone);
    expect(log.filter((e) => e.kind === "deployment.in_progress")).toHaveLength(5);
  });

  it("a release failing its post_update_test on the canary: rollout pauses, canary back on 2.0.0, nobody else got it", {
    timeout: 90_000,
  }, async () => {
    const id = await rollout(await fleet.publish({ version: "3.0.0", test: "false" }), [
      { name: "canary", labels: { ring: "canary" } },
      { name: "everyone", percent: 100 },
    ]);
    await fleet.waitFor("rollout paused", async () => (await fleet.rollout(id)).state === "paused");
    const view = await fleet.rollout(id);
    expect(view.reason).toMatch(/failure threshold/);
    expect(view.waves[0]?.agents).toMatchObject([{ agentId: "agent-1", state: "failed" }]);
    expect(view.waves[0]?.agents[0]?.error).toMatch(/rolled back/);
    for (const agent of view.waves[1]?.agents ?? []) expect(agent.state).toBe("pending");

    // The canary's files are 2.0.0 again, byte for byte where the host changed them.
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    const canary = fleet.agent(0);
    expect(await readFile(join(canary.appDir, "config.toml"), "utf8")).toContain('name = "host-agent-1"');
    expect((await agentView("agent-1")).apps.find((a) => a.app === APP)?.version).toBe("2.0.0");
    // The others were never told about 3.0.0: not on disk, not in their desired state.
    for (let i = 1; i < 5; i++) {
      expect(await fleet.appVersion(i)).toBe("2.0.0");
      const desired = await readFile(join(fleet.agent(i).root, "state", "daemon", "desired.json"), "utf8");
      expect(desired).not.toContain("3.0.0");
    }
    await fleet.api("POST", `/rollouts/${id}/abort`, {});
  });

  it("an agent SIGKILLed mid-apply and restarted ends on a whole version, and the hub shows the truth", {
    timeout: 90_000,
  }, async () => {
    const victim = 1;
    await fleet.stopAgent(victim, "SIGTERM");
    // The agent kills itself at the second file it applies, exactly as a power cut would.
    await fleet.startAgent(victim, { SHIP_FAULT: "apply:file@2" });
    const release = await fleet.publish({
      version: "3.0.1",
      files: { "lib/a.txt": "a\n", "lib/b.txt": "b\n", "lib/c.txt": "c\n" },
    });
    const id = await rollout(release, [{ name: "everyone", percent: 100 }]);
    const victimProcess = fleet.agent(victim).process;
    await fleet.waitFor("the faulted agent to die", async () => victimProcess?.signalCode === "SIGKILL");
    await fleet.stopAgent(victim, "SIGKILL");
    expect((await fleet.rollout(id)).state).toBe("running");

    await fleet.startAgent(victim);
    await untilState(id, "completed");
    expect((await fleet.rollout(id)).counts).toEqual({ succeeded: 5 });
    const agent = fleet.agent(victim);
    expect(await fleet.appVersion(victim)).toBe("3.0.1");
    for (const name of ["a", "b", "c"])
      expect(await readFile(join(agent.appDir, "lib", `${name}.txt`), "utf8")).toBe(`${name}\n`);
    expect(await readFile(join(agent.appDir, "config.toml"), "utf8")).toContain('name = "host-agent-2"');
    expect((await agentView(agent.id)).apps.find((a) => a.app === APP)?.version).toBe("3.0.1");
    const log = await readFile(join(agent.root, "agent.log"), "utf8");
    expect(log).toMatch(/update to 3\.0\.1 was interrupted; restored 2\.0\.0/);
    expect(log).toMatch(/resuming an unfinished instruction/);
  });

  it("an agent offline during its wave gets the release when it returns", { timeout: 90_000 }, async () => {
    const away = 2;
    // An idle agent stops cleanly on SIGTERM.
    expect(await fleet.stopAgent(away, "SIGTERM")).toBe(0);
    await fleet.waitFor("agent-3 offline", async () => !(await agentView("agent-3")).online);
    const id = await rollout(await fleet.publish({ version: "3.0.2" }), [{ name: "everyone", percent: 100 }]);
    await fleet.waitFor("the others to finish", async () => (await fleet.rollout(id)).counts.succeeded === 4);
    const waiting = (await fleet.rollout(id)).waves[0]?.agents.find((a) => a.agentId === "agent-3");
    expect(waiting?.state).toBe("pending");
    expect(await fleet.appVersion(away)).toBe("3.0.1");

    await fleet.startAgent(away);
    await untilState(id, "completed");
    expect(await fleet.appVersion(away)).toBe("3.0.2");
  });

  it("the hub restarted mid-rollout: agents reconnect, the rollout completes, every report arrives once", {
    timeout: 90_000,
  }, async () => {
    // A pre_update hook that waits for the test keeps every agent busy while the hub is away. A
    // fixed `sleep 3` could end on the first agent before a loaded machine had the fifth fetch.
    const go = join(fleet.dir, "go-3.0.3");
    const release = await fleet.publish({
      version: "3.0.3",
      preUpdate: [`while [ ! -e ${go} ]; do sleep 0.1; done`],
    });
    const id = await rollout(release, [{ name: "everyone", percent: 100 }]);
    // Stop the hub once every agent has the release (a download the hub cut short is retried later).
    const fetched = async (agent: AgentHandle) =>
      (await readFile(join(agent.root, "agent.log"), "utf8"))
        .split("\n")
        .some((line) => line.includes(`${id}:${agent.id}`) && line.includes('"msg":"step fetch done"'));
    for (const agent of fleet.agents) await fleet.waitFor(`${agent.id} fetched`, () => fetched(agent));
    expect((await fleet.rollout(id)).counts.in_progress).toBe(5);
    await fleet.stopHub("SIGTERM");
    await writeFile(go, "");

    // Without a hub the agents finish and keep their reports in the outbox.
    await fleet.waitFor("all agents on 3.0.3", async () => {
      for (let i = 0; i < 5; i++) if ((await fleet.appVersion(i)) !== "3.0.3") return false;
      return true;
    });
    for (const agent of fleet.agents) {
      await fleet.waitFor(`${agent.id} report queued`, async () => {
        const dir = join(agent.root, "state", "daemon", "outbox");
        return existsSync(dir) && (await readdir(dir)).some((n) => n.endsWith(".json"));
      });
    }

    await fleet.startHub();
    await untilState(id, "completed");
    expect((await fleet.rollout(id)).counts).toEqual({ succeeded: 5 });
    for (const agent of fleet.agents) {
      const detail = await agentView(agent.id);
      expect(detail.online).toBe(true);
      expect(detail.reports.filter((r) => r.deploymentId === `${id}:${agent.id}`)).toHaveLength(1);
      await fleet.waitFor(`${agent.id} outbox empty after ack`, async () => {
        const dir = join(agent.root, "state", "daemon", "outbox");
        return (await readdir(dir)).filter((n) => n.endsWith(".json")).length === 0;
      });
    }
  });

  it("abort with rollback sends an updated agent back to its previous hub release, from its backup", {
    timeout: 60_000,
  }, async () => {
    const release = await fleet.publish({ version: "3.0.4" });
    const res = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [
        { name: "first", agents: ["agent-1"] },
        { name: "rest", percent: 100 },
      ],
      autoAdvance: false,
    });
    await fleet.waitFor(
      "agent-1 updated",
      async () => (await fleet.rollout(res.id)).waves[0]?.agents[0]?.state === "succeeded",
    );
    expect(await fleet.appVersion(0)).toBe("3.0.4");
    await fleet.api("POST", `/rollouts/${res.id}/abort`, { rollback: true });
    await fleet.waitFor(
      "agent-1 rolled back",
      async () => (await fleet.rollout(res.id)).waves[0]?.agents[0]?.state === "rolled_back",
    );
    expect(await fleet.appVersion(0)).toBe("3.0.3");
    expect(await readFile(join(fleet.agent(0).appDir, "config.toml"), "utf8")).toContain(
      'name = "host-agent-1"',
    );
    expect((await agentView("agent-1")).apps.find((a) => a.app === APP)?.version).toBe("3.0.3");
    for (let i = 1; i < 5; i++) expect(await fleet.appVersion(i)).toBe("3.0.3");
    const log = await readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
    expect(log).toMatch(/rolled back from the newest backup/);
  });

  it("SIGTERM while an update runs: the agent finishes it, exits 0, and the hub learns the outcome", {
    timeout: 60_000,
  }, async () => {
    const last = 4;
    // The update waits in its hook until the signal was heard: a fixed `sleep 2` could end first on a
    // loaded machine, and the agent then stopped idle, not "finishing the running instruction".
    const go = join(fleet.dir, "go-3.0.5");
    const release = await fleet.publish({
      version: "3.0.5",
      preUpdate: [`while [ ! -e ${go} ]; do sleep 0.1; done`],
    });
    const res = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "one", agents: ["agent-5"] }],
    });
    await fleet.waitFor(
      "agent-5 working",
      async () => (await fleet.rollout(res.id)).counts.in_progress === 1,
    );
    const logFile = join(fleet.agent(last).root, "agent.log");
    const logged = (await readFile(logFile, "utf8")).length;
    const stopped = fleet.stopAgent(last, "SIGTERM");
    await fleet.waitFor("the SIGTERM heard", async () =>
      (await readFile(logFile, "utf8"))
        .slice(logged)
        .includes("stopping: finishing the running instruction first"),
    );
    await writeFile(go, "");
    expect(await stopped).toBe(0);
    expect(await fleet.appVersion(last)).toBe("3.0.5");
    // The report went out before the agent closed its connection (or waits in its outbox).
    await fleet.startAgent(last);
    await untilState(res.id, "completed");
    expect((await fleet.rollout(res.id)).counts).toEqual({ succeeded: 1 });
    const log = await readFile(join(fleet.agent(last).root, "agent.log"), "utf8");
    const stopping = log.indexOf("stopping: finishing the running instruction first");
    const finished = log.indexOf('"outcome":"succeeded","msg":"instruction finished"', log.indexOf("3.0.5"));
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(finished).toBeGreaterThan(stopping);
  });

  it("the hub restarted while the canary's post_update_test runs: its hello does not pass the canary, whose failure then halts the rollout", {
    timeout: 90_000,
  }, async () => {
    // agent-1's test waits for GO, then fails: the hub restarts while the release's files are in
    // place and not yet accepted. The others' test passes.
    const canary = fleet.agent(0);
    const hold = join(canary.root, "hold");
    const running = join(canary.root, "running");
    const go = join(canary.root, "go");
    await writeFile(hold, "");
    const release = await fleet.publish({
      version: "3.0.6",
      test: `if [ -e ${hold} ]; then touch ${running}; while [ ! -e ${go} ]; do sleep 0.1; done; exit 1; fi; grep -qx 3.0.6 app.txt`,
      testTimeout: 60,
    });
    const id = await rollout(release, [
      { name: "canary", agents: ["agent-1"] },
      { name: "rest", percent: 100 },
    ]);
    await fleet.waitFor("agent-1 in its post_update_test", async () => existsSync(running));
    const before = Math.max(0, ...(await events()).map((e) => e.id));
    await fleet.stopHub("SIGKILL");
    await fleet.startHub();
    // Before, its reconnect's hello announced 3.0.6 (the files' version) as installed: the hub took the
    // canary for updated and sent the release to the next wave before the test had run its course.
    await fleet.waitFor("agent-1 announced again", async () =>
      (await events()).some((e) => e.id > before && e.kind === "agent.online" && e.subject === "agent-1"),
    );
    await writeFile(go, "");
    await fleet.waitFor(
      "agent-1's failure counted",
      async () => (await fleet.rollout(id)).waves[0]?.agents[0]?.state === "failed",
    );
    const view = await fleet.rollout(id);
    expect(view.state).toBe("paused");
    // Before: 3 of them in_progress, sent 3.0.6 at the hello, before the canary's failure.
    expect(view.waves[1]?.agents.map((a) => a.state)).toEqual(["pending", "pending", "pending", "pending"]);
    expect(await fleet.appVersion(0)).toBe("3.0.3");
    expect((await agentView("agent-1")).apps.find((a) => a.app === APP)?.version).toBe("3.0.3");
    for (let i = 1; i < 5; i++) expect(await fleet.appVersion(i)).not.toBe("3.0.6");
    await fleet.api("POST", `/rollouts/${id}/abort`, {});
  });
});
