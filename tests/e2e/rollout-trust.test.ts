/**
 * Rollouts an operator can trust, with a real hub process and two real agent processes: a canary
 * is never silently empty, `create` gives the split `preview` showed, and "abort with rollback"
 * either sends agents back or says plainly that it could not — also after a local rollback.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketOf } from "../../shared/rollout/bucket.js";
import { APP, Fleet } from "./fleet.js";

const execFileAsync = promisify(execFile);

interface Preview {
  seed: string;
  waves: { name: string; agents: string[] }[];
  unassigned: string[];
}
interface EventView {
  kind: string;
  subject: string;
  data: Record<string, unknown>;
}

describe("rollouts an operator can trust (real hub and agents)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 2 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const hubCli = async (...args: string[]) =>
    (
      await execFileAsync(
        process.execPath,
        [resolve("dist/hub/cli/main.js"), ...args, "--hub", fleet.hubUrl, "--json"],
        {
          env: { ...process.env, SHIP_HUB_TOKEN: fleet.operator },
        },
      )
    ).stdout;
  const events = async (kind: string) =>
    (await fleet.api<{ events: EventView[] }>("GET", "/events?limit=1000")).events.filter(
      (e) => e.kind === kind,
    );
  const members = (view: { waves: { agents: { agentId: string }[] }[] }) =>
    view.waves.map((w) => w.agents.map((a) => a.agentId).sort());
  const untilFinished = (id: string) =>
    fleet.waitFor("every deployment finished", async () => {
      const view = await fleet.rollout(id);
      return view.waves.every((w) =>
        w.agents.every((a) => !["pending", "sent", "in_progress"].includes(a.state)),
      );
    });

  it("a 5 % canary on a small fleet takes one agent, in the preview and in every seed's split", async () => {
    const release = await fleet.publish({ version: "1.9.0" });
    for (let i = 0; i < 20; i++) {
      const preview = await fleet.api<Preview>("POST", "/rollouts/preview", {
        release,
        seed: `seed-${i}`,
        waves: [
          { name: "canary", percent: 5 },
          { name: "all", percent: 100 },
        ],
      });
      expect(preview.waves.map((w) => w.agents.length)).toEqual([1, 1]);
    }
  });

  it("the CLI's create gives exactly the split its preview showed; the canary stops a bad release", {
    timeout: 90_000,
  }, async () => {
    await fleet.publish({ version: "2.0.0", test: "false" });
    // A seed whose buckets put neither agent under 50 %: the empty canary on two hosts.
    let seed = 0;
    while (bucketOf(`s${seed}`, "agent-1") < 5000 || bucketOf(`s${seed}`, "agent-2") < 5000) seed++;
    const args = [
      "--app",
      APP,
      "--version",
      "2.0.0",
      "--wave",
      "canary=50",
      "--wave",
      "all=100",
      "--seed",
      `s${seed}`,
    ];
    const preview = JSON.parse(
      await hubCli("rollout", "create", ...args, "--auto-advance", "--preview"),
    ) as Preview;
    expect(preview.waves[0]?.agents).toHaveLength(1);
    const created = JSON.parse(await hubCli("rollout", "create", ...args, "--auto-advance")) as {
      id: string;
      waves: { agents: { agentId: string }[] }[];
    };
    expect(members(created)).toEqual(preview.waves.map((w) => [...w.agents].sort()));
    await fleet.waitFor("rollout paused", async () => (await fleet.rollout(created.id)).state === "paused");
    const view = await fleet.rollout(created.id);
    expect(view.currentWave).toBe(0);
    const canary = preview.waves[0]?.agents[0];
    const other = preview.waves[1]?.agents[0];
    expect(view.waves[0]?.agents).toMatchObject([{ agentId: canary, state: "failed" }]);
    expect(view.waves[1]?.agents).toMatchObject([{ agentId: other, state: "pending" }]);
    for (let i = 0; i < 2; i++) expect(await fleet.appVersion(i)).toBe("1.0.0");
    await fleet.api("POST", `/rollouts/${created.id}/abort`, {});
  });

  it("auto-advance holds an empty wave, an operator's advance past it says so; a rollback the hub cannot do is shown as not done", {
    timeout: 60_000,
  }, async () => {
    const created = await fleet.api<{ id: string; currentWave: number; reason: string | null }>(
      "POST",
      "/rollouts",
      {
        release: await fleet.publish({ version: "1.9.1" }),
        waves: [
          { name: "nobody", labels: { ring: "none" } },
          { name: "all", percent: 100 },
        ],
        autoAdvance: true,
      },
    );
    expect(created).toMatchObject({ currentWave: 0, reason: expect.stringMatching(/holds no agent/) });
    await fleet.api("POST", `/rollouts/${created.id}/advance`, { fromWave: 0 });
    await fleet.waitFor("completed", async () => (await fleet.rollout(created.id)).state === "completed");
    const empty = (await events("rollout.wave_empty")).filter((e) => e.subject === created.id);
    expect(empty).toMatchObject([{ data: { wave: 0, name: "nobody" } }]);

    // 1.0.0 was installed by hand and never published: the hub has nothing to send them back to.
    const aborted = await fleet.api<{ reason: string }>("POST", `/rollouts/${created.id}/abort`, {
      rollback: true,
    });
    expect(aborted.reason).toMatch(/rollback sent to 0 agent\(s\); 2 agent\(s\) NOT rolled back/);
    const detail = await fleet.rollout(created.id);
    for (const a of detail.waves[1]?.agents ?? []) {
      expect(a.state).toBe("succeeded");
      expect(a.error).toMatch(/^not rolled back/);
    }
    expect((await events("deployment.rollback_impossible")).length).toBe(2);
    for (let i = 0; i < 2; i++) expect(await fleet.appVersion(i)).toBe("1.9.1");
  });

  it("after a failed update rolled back locally the hub still knows the release, and abort with rollback works", {
    timeout: 120_000,
  }, async () => {
    const known = (await fleet.api<{ releases: { id: string; version: string }[] }>("GET", "/releases"))
      .releases;
    const base = known.find((r) => r.version === "1.9.1")?.id;
    const bad = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "2.1.0", test: "false" }),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 2 },
    });
    await untilFinished(bad.id);
    await fleet.api("POST", `/rollouts/${bad.id}/abort`, {});
    for (let i = 0; i < 2; i++) expect(await fleet.appVersion(i)).toBe("1.9.1");
    // The agents said which hub release they run after rolling back (in the report, and in hello).
    const appOf = async (id: string) =>
      (await fleet.api<{ apps: { app: string; releaseId?: string }[] }>("GET", `/agents/${id}`)).apps.find(
        (a) => a.app === APP,
      );
    expect((await appOf("agent-1"))?.releaseId).toBe(base);
    await fleet.stopAgent(1);
    await fleet.startAgent(1);
    await fleet.waitFor("agent-2 back", async () => (await appOf("agent-2"))?.releaseId === base);

    const good = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "2.2.0" }),
      waves: [{ name: "all", percent: 100 }],
    });
    await fleet.waitFor("completed", async () => (await fleet.rollout(good.id)).state === "completed");
    const aborted = await fleet.api<{ reason: string }>("POST", `/rollouts/${good.id}/abort`, {
      rollback: true,
    });
    expect(aborted.reason).toBe("aborted; rollback sent to 2 agent(s)");
    await fleet.waitFor(
      "both rolled back",
      async () => (await fleet.rollout(good.id)).counts.rolled_back === 2,
    );
    for (let i = 0; i < 2; i++) expect(await fleet.appVersion(i)).toBe("1.9.1");
  });
});
