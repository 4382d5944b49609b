/**
 * `systemctl stop ship-agent` twice (or a second Ctrl-C) while an instruction runs: the agent
 * exits at once, the instruction cut short. It exited 0, which systemd reads as a clean stop; the
 * honest code is 128+signal. The next start recovers and the hub still learns the outcome.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("a second SIGTERM to ship agent mid-update (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("exits 143, not 0; the next start finishes the story for the hub", { timeout: 90_000 }, async () => {
    // The update waits in its hook until the test lets it go: a fixed `sleep 3` could end, and the
    // update with it, before a loaded machine's test had seen it in progress and sent both signals.
    const go = join(fleet.dir, "go");
    const release = await fleet.publish({
      version: "2.0.0",
      preUpdate: [`while [ ! -e ${go} ]; do sleep 0.1; done`],
    });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "one", agents: ["agent-1"] }],
    });
    await fleet.waitFor("agent-1 working", async () => (await fleet.rollout(id)).counts.in_progress === 1);
    const agent = fleet.agent(0).process;
    if (agent === undefined) throw new Error("agent-1 is not running");
    const exited = new Promise<{ code: number | null; signal: string | null }>((ok) =>
      agent.once("exit", (code, signal) => ok({ code, signal })),
    );
    const logFile = join(fleet.agent(0).root, "agent.log");
    agent.kill("SIGTERM");
    // The second once the first was heard, not a fixed 300 ms later: two signals of one kind still
    // pending while a loaded machine has not run the process are delivered as one.
    await fleet.waitFor("the first SIGTERM heard", async () =>
      (await readFile(logFile, "utf8")).includes("stopping: finishing the running instruction first"),
    );
    agent.kill("SIGTERM");
    expect(await exited).toEqual({ code: 143, signal: null });
    expect(await readFile(logFile, "utf8")).toContain("second signal (SIGTERM): exiting now, cut short");

    await writeFile(go, "");
    await fleet.startAgent(0);
    await fleet.waitFor("the rollout settled", async () => {
      const counts = (await fleet.rollout(id)).counts;
      return counts.in_progress === undefined && counts.sent === undefined && counts.pending === undefined;
    });
    const counts = (await fleet.rollout(id)).counts;
    expect(counts).toEqual({ succeeded: 1 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
