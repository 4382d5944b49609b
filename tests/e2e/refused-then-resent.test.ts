/**
 * An instruction the agent refused (its app disabled in ship.toml when it resumed the instruction
 * from disk) and the hub sends again once the app is enabled. The hub stored the refusal without
 * counting it (the deployment was not applicable); before, the agent answered the second send
 * from its record — the same refusal, the same reportId — which the hub dropped as a resend, and
 * the deployment stayed `sent` until the progress timeout failed it. The same for a `skip_update`
 * of a host relabelled out of the selector after it was sent the release, once it is back. A
 * declined instruction is no finished one: the agent carries it out anew. Not one given up after
 * the agent stopped in it three times: sent again (the hub away when it gave up), it is answered
 * from the record, or the runs — and the host's crashes — would start over.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("an instruction the agent declined, sent again once it fits the rollout again (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1, labels: () => ({ env: "prod" }) });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const agentState = async (id: string) =>
    (await fleet.rollout(id)).waves.flatMap((w) => w.agents).find((a) => a.agentId === "agent-1");
  const setEnabled = (enabled: boolean) => fleet.setAppEnabled(0, enabled);

  const reportStored = (what: string, text: string) =>
    fleet.waitFor(what, async () => {
      const { reports } = await fleet.api<{ reports: unknown[] }>("GET", "/agents/agent-1");
      return JSON.stringify(reports).includes(text);
    });
  /**
   * The declined instruction held the rollout (its only member gone, the wave tested nothing).
   * `fitAgain` (agent stopped) makes the host fit it; restarted, it is owed the release; resumed,
   * the rollout sends it again, and the host must take `version`. Before, the deployment stayed
   * `sent` until the progress timeout (an hour) failed it: the agent answered with its old report.
   */
  const sentAgainTakes = async (id: string, fitAgain: () => Promise<void>, version: string) => {
    await fleet.waitFor("the rollout held", async () => (await fleet.rollout(id)).state === "paused");
    await fleet.stopAgent(0);
    await fitAgain();
    await fleet.startAgent(0);
    await fleet.waitFor("owed the release again", async () => (await agentState(id))?.state === "pending");
    await fleet.api("POST", `/rollouts/${id}/resume`);
    await fleet
      .waitFor("the deployment finished", async () => (await agentState(id))?.state === "succeeded", 30_000)
      .catch(() => undefined);
    expect((await agentState(id))?.state).toBe("succeeded");
    expect(await fleet.appVersion(0)).toBe(version);
  };

  it("the second send is carried out and counted, not answered with the old refusal", {
    timeout: 120_000,
  }, async () => {
    // The update waits in its pre_update hook until the test lets it go: the agent holds the
    // instruction on disk when it is killed.
    const go = join(fleet.dir, "go");
    const id = (
      await fleet.api<{ id: string }>("POST", "/rollouts", {
        release: await fleet.publish({
          version: "2.0.0",
          preUpdate: [`while [ ! -e ${go} ]; do sleep 0.1; done`],
        }),
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      })
    ).id;
    await fleet.waitFor("the agent at work", async () => (await agentState(id))?.state === "in_progress");
    await fleet.stopAgent(0, "SIGKILL");
    await setEnabled(false);
    await writeFile(go, "");
    await fleet.startAgent(0);
    // Its hello leaves the app out (not applicable); it refuses the instruction it resumed from disk.
    await reportStored("the refusal stored", "enabled = false");
    expect((await agentState(id))?.state).toBe("not_applicable");
    await sentAgainTakes(id, () => setEnabled(true), "2.0.0");
    await fleet.waitFor("the rollout completed", async () => (await fleet.rollout(id)).state === "completed");
  });

  it("an instruction skipped on a conditional while the host was out of the selector is carried out anew once it is back", {
    timeout: 120_000,
  }, async () => {
    const { configFile } = fleet.agent(0);
    const relabel = async (env: string) =>
      writeFile(
        configFile,
        (await readFile(configFile, "utf8")).replace(/^labels = .*$/m, `labels = { env = "${env}" }`),
      );
    const hold = join(fleet.dir, "hold");
    await writeFile(hold, "");
    const release = await fleet.publish({
      version: "3.0.0",
      conditionals: [{ condition: `file_exists('${hold}')`, action: "skip_update", message: "held" }],
    });
    // Relabelled just before the instruction comes: the agent records it, then restarts for its
    // changed ship.toml before running it ("the instruction waits on disk").
    await relabel("staging");
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      selector: { labels: { env: "prod" } },
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    const exited = fleet.agent(0).process;
    await fleet.waitFor("the agent exited to take up its config", async () => exited?.exitCode !== null);
    await fleet.startAgent(0);
    // Out of the selector after it was sent the release: not applicable; its skip is stored, not counted.
    await reportStored("the skip stored", '"outcome":"skipped"');
    expect((await agentState(id))?.error).toContain("it was sent the release before");
    await sentAgainTakes(
      id,
      async () => {
        await rm(hold);
        await relabel("prod");
      },
      "3.0.0",
    );
    await fleet.waitFor("the rollout completed", async () => (await fleet.rollout(id)).state === "completed");
  });

  it("an instruction given up after the agent stopped in it three times keeps its answer: no run starts over", {
    timeout: 120_000,
  }, async () => {
    // Each run of the update says so in `runs` and waits in its pre_update hook, where it is killed.
    const runs = join(fleet.dir, "runs");
    const ran = async () => (await readFile(runs, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "4.0.0", preUpdate: [`echo run >> ${runs}; sleep 20`] }),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    const before = await fleet.appVersion(0);
    const log = join(fleet.agent(0).root, "agent.log");
    // What the agent logs from here on (the earlier cases carried instructions out anew).
    const from = (await readFile(log, "utf8")).length;
    const logged = async () => (await readFile(log, "utf8")).slice(from);
    for (let run = 1; run <= 3; run++) {
      await fleet.waitFor(`run ${run} under way`, async () => (await ran()) === run);
      // The hub is away when the agent gives up: it still holds the instruction as under way and
      // sends it again when the agent is back, beside the give-up report from the agent's outbox.
      if (run === 3) await fleet.stopHub();
      await fleet.stopAgent(0, "SIGKILL");
      await fleet.startAgent(0);
    }
    await fleet.waitFor("the agent gave up", async () => (await logged()).includes("not trying again"));
    await fleet.startHub();
    await reportStored("the give-up stored", "not trying again");
    const answered = "instruction already finished; re-sending its report";
    const anew = "carrying it out anew";
    await fleet.waitFor("the hub sent it again", async () => {
      const text = await logged();
      return text.includes(answered) || text.includes(anew);
    });
    // Answered from its record; carried out anew, the runs (and the kills) would start over.
    const text = await logged();
    expect({ answered: text.includes(answered), anew: text.includes(anew) }).toEqual({
      answered: true,
      anew: false,
    });
    expect(await ran()).toBe(3);
    expect((await agentState(id))?.state).toBe("failed");
    expect(await fleet.appVersion(0)).toBe(before);
  });
});
