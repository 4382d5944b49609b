import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentSync } from "../../../hub/rollouts/agent-sync.js";
import type { AgentChannel } from "../../../hub/rollouts/dispatch.js";
import { RolloutEngine } from "../../../hub/rollouts/engine.js";
import { seedOf, waveOf } from "../../../hub/rollouts/membership.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { RolloutSpec, type RolloutSpecInput } from "../../../shared/api/bodies.js";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";

/** Stands in for the WebSocket layer (tested on its own with real sockets): records what is sent. */
class RecordingChannel implements AgentChannel {
  online = new Set<string>();
  sent: { agentId: string; message: HubMessage }[] = [];
  isOnline(agentId: string) {
    return this.online.has(agentId);
  }
  connectedAgentIds() {
    return [...this.online];
  }
  send(agentId: string, message: HubMessage) {
    if (!this.online.has(agentId)) return false;
    this.sent.push({ agentId, message });
    return true;
  }
  deploysTo(agentId: string): Deploy[] {
    return this.sent.flatMap((s) =>
      s.agentId === agentId && s.message.type === "deploy" ? [s.message] : [],
    );
  }
}

let dir: string;
let file: string;
/** The engine runs on the async store; assertions read the same SQLite file synchronously. */
let store: SqliteStore;
let clock: number;
let channel: RecordingChannel;
let engine: RolloutEngine;
let sync: AgentSync;

/** A new engine (and agent sync) on the store, the test's clock, and `options`' timeouts. */
function startEngine(options: { progressTimeoutMs?: number } = {}) {
  engine = new RolloutEngine({
    store: sqliteAsyncStore(store, join(dir, "artifacts")),
    channel,
    now: () => clock,
    offlineTimeoutMs: 60_000,
    ...options,
  });
  sync = new AgentSync(engine);
}

function boot() {
  store = new SqliteStore(file);
  channel = new RecordingChannel();
  startEngine();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-engine-"));
  file = join(dir, "hub.db");
  clock = 1_000_000;
  boot();
  for (const [id, version] of [
    ["r1", "1.0.0"],
    ["r2", "2.0.0"],
  ] as const)
    store.insertRelease({
      id,
      app: "web",
      version,
      manifest: `version: "${version}"\n`,
      source: { type: "git", commit: "abcdef1" },
      signature: null,
      created: 0,
      createdBy: "ci",
    });
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

async function connect(agentId: string, labels: Record<string, string> = {}) {
  channel.online.add(agentId);
  await sync.hello(agentId, {
    type: "hello",
    v: 1,
    agentId,
    hostname: agentId,
    labels,
    agentVersion: "0.1.0",
    apps: [{ app: "web", version: "1.0.0", state: "ok", releaseId: "r1" }],
  });
}

type Outcome = "succeeded" | "failed" | "rolled_back";

/** Reports, then runs one engine tick as the hub's timer would. */
async function report(agentId: string, deploymentId: string, outcome: Outcome, reportId = randomUUID()) {
  await reportOnly(agentId, deploymentId, outcome, reportId);
  await engine.tick();
}

async function reportOnly(agentId: string, deploymentId: string, outcome: Outcome, reportId: string) {
  await sync.report(agentId, {
    type: "report",
    v: 1,
    reportId,
    deploymentId,
    app: "web",
    // The release the instruction sent, as an agent reports it: a rollback's is the previous one (a
    // report naming another release moves no deployment).
    releaseId: deploymentId.endsWith("~rollback") ? "r1" : "r2",
    outcome,
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    steps: [],
  });
}

const spec = (input: Partial<RolloutSpecInput>) =>
  RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }], ...input });

const agents = ["a", "b", "c", "d"];

const explicitWaves = [
  { name: "canary", agents: ["a"] },
  { name: "rest", agents: ["b", "c", "d"] },
];

describe("rollout engine", () => {
  it("sends wave 1 only, auto-advances once the wave succeeded, and completes", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ waves: explicitWaves, autoAdvance: true }), "op");
    expect(channel.deploysTo("a")).toHaveLength(1);
    expect(channel.deploysTo("b")).toHaveLength(0);
    const deploy = channel.deploysTo("a")[0]!;
    expect(deploy).toMatchObject({ app: "web", rollback: false, release: { id: "r2", version: "2.0.0" } });
    await report("a", deploy.deploymentId, "succeeded");
    expect(store.getRollout(r.id)?.currentWave).toBe(1);
    for (const a of ["b", "c", "d"]) await report(a, channel.deploysTo(a)[0]!.deploymentId, "succeeded");
    expect(store.getRollout(r.id)?.state).toBe("completed");
    const kinds = store.listEvents({ limit: 100, subject: r.id }).map((e) => e.kind);
    expect(kinds).toEqual(["rollout.completed", "rollout.advanced", "rollout.created"]);
    expect(store.getAgent("b")?.apps[0]).toMatchObject({ version: "2.0.0", releaseId: "r2" });
  });

  it("one agent for canary=5 all=100: the canary holds it, and completing on the empty last wave is said", async () => {
    await connect("a");
    const waves = [
      { name: "canary", percent: 5 },
      { name: "all", percent: 100 },
    ];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    expect(store.getDeployment(`${r.id}:a`)?.wave).toBe(0);
    await report("a", `${r.id}:a`, "succeeded");
    expect(store.getRollout(r.id)?.state).toBe("completed");
    const empty = store
      .listEvents({ limit: 100, subject: r.id })
      .filter((e) => e.kind === "rollout.wave_empty");
    expect(empty.map((e) => e.data)).toEqual([
      expect.objectContaining({
        wave: 1,
        name: "all",
        message: expect.stringMatching(/^the last wave held no agent/),
      }),
    ]);
  });

  it("a canary empty from the start is held, not passed by auto-advance; an agent that joins it advances it", async () => {
    for (const a of ["b", "c"]) await connect(a, { region: "eu" });
    const waves = [
      { name: "canary", labels: { region: "asia" } },
      { name: "all", percent: 100 },
    ];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    await engine.tick();
    // Before: wave 2 started at once and b, c were sent 2.0.0 with nothing tested.
    expect(store.getRollout(r.id)).toMatchObject({
      currentWave: 0,
      reason:
        "waiting for an operator: wave 1 (canary) holds no agent, so nothing is tested in it before the 2 agent(s) of the later waves; advance or abort (an agent that joins it is sent the release)",
    });
    expect(channel.deploysTo("b")).toEqual([]);
    await connect("a", { region: "asia" });
    expect(channel.deploysTo("a")).toHaveLength(1);
    expect(store.getRollout(r.id)?.reason).toBe(null);
    await report("a", `${r.id}:a`, "succeeded");
    expect(store.getRollout(r.id)?.currentWave).toBe(1);
    expect(channel.deploysTo("b")).toHaveLength(1);
  });

  it("a run's warnings are kept with its deployment apart from its error, cut at three; older rows that held them in error read apart", async () => {
    for (const a of ["a", "b"]) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { count: 2 } }), "op");
    const warned = async (agentId: string, outcome: Outcome, warnings: string[], error?: string) =>
      sync.report(agentId, {
        type: "report",
        v: 1,
        reportId: randomUUID(),
        deploymentId: `${r.id}:${agentId}`,
        app: "web",
        releaseId: "r2",
        outcome,
        fromVersion: "1.0.0",
        toVersion: "2.0.0",
        steps: [],
        warnings,
        ...(error === undefined ? {} : { error }),
      });
    await warned("a", "succeeded", ["the app has a VERSION file: check the release notes"]);
    await warned("b", "rolled_back", ["w1", "w2", "w3", "w4", "w5"], "post_update_test failed");
    // A success that warned is a success: its warnings were its `error` ("warning: …"), shown
    // under ERROR by `rollout show`, the API and the dashboard.
    expect(store.getDeployment(`${r.id}:a`)).toMatchObject({
      state: "succeeded",
      error: null,
      warnings: ["the app has a VERSION file: check the release notes"],
    });
    const more = "2 more on the agent's page (dashboard, GET /api/v1/agents/b)";
    expect(store.getDeployment(`${r.id}:b`)).toMatchObject({
      error: "rolled back: post_update_test failed",
      warnings: ["w1", "w2", "w3", more],
    });
    // A later report without warnings clears them.
    await warned("a", "succeeded", []);
    expect(store.getDeployment(`${r.id}:a`)?.warnings).toBeUndefined();

    // Rows an older hub wrote (no warnings column yet) read apart.
    store.updateDeployment(`${r.id}:a`, { error: "warning: one; a; b; warning: two", updatedAt: 1 });
    const raw = new Database(file);
    raw.prepare("UPDATE deployments SET warnings = NULL").run();
    raw.close();
    store.updateDeployment(`${r.id}:b`, {
      error: `rolled back: x; warning: w1; warning: w2; warning: w3; ${more}`,
      updatedAt: 1,
    });
    expect(store.getDeployment(`${r.id}:a`)).toMatchObject({ error: null, warnings: ["one; a; b", "two"] });
    expect(store.getDeployment(`${r.id}:b`)).toMatchObject({
      error: "rolled back: x",
      warnings: ["w1", "w2", "w3", more],
    });
  });

  it("an empty canary before agents that run the release already is passed: nothing is sent untested", async () => {
    channel.online.add("b");
    await sync.hello("b", {
      type: "hello",
      v: 1,
      agentId: "b",
      hostname: "b",
      labels: {},
      agentVersion: "0.1.0",
      apps: [{ app: "web", version: "2.0.0", state: "updated", releaseId: "r2" }],
    });
    const waves = [
      { name: "canary", labels: { region: "asia" } },
      { name: "all", percent: 100 },
    ];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    await engine.tick();
    expect(store.getRollout(r.id)).toMatchObject({ state: "completed", reason: null });
    expect(channel.deploysTo("b")).toEqual([]);
  });

  it("an empty wave after one that took every agent is passed: nothing would go out untested", async () => {
    await connect("a");
    const waves = [
      { name: "canary", agents: ["a"] },
      { name: "eu", labels: { region: "eu" } },
      { name: "all", percent: 100 },
    ];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    await report("a", `${r.id}:a`, "succeeded");
    expect(store.getRollout(r.id)).toMatchObject({ state: "completed", reason: null });
  });

  it("does not complete while an agent of an earlier wave, advanced past offline, has not finished", async () => {
    for (const a of agents) await connect(a);
    await sync.disconnected("a");
    channel.online.delete("a");
    const r = await engine.create(spec({ waves: explicitWaves, failureThreshold: { count: 2 } }), "op");
    await engine.advance(r.id, "op");
    for (const x of ["b", "c", "d"]) await report(x, `${r.id}:${x}`, "succeeded");
    // Before, this said completed (no reason) while a had never been sent the release.
    expect(store.getRollout(r.id)?.state).toBe("running");
    clock += 61_000;
    await engine.tick();
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("timed_out");
    expect(store.getRollout(r.id)).toMatchObject({ state: "completed", reason: "1 agent(s) failed" });
  });

  it("waits waitMinutes after the wave started before auto-advancing, using stored timestamps", async () => {
    for (const a of agents) await connect(a);
    const waves = [{ ...explicitWaves[0]!, waitMinutes: 10 }, explicitWaves[1]!];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    await report("a", channel.deploysTo("a")[0]!.deploymentId, "succeeded");
    clock += 9 * 60_000;
    await engine.tick();
    expect(store.getRollout(r.id)?.currentWave).toBe(0);
    clock += 60_000;
    await engine.tick();
    expect(store.getRollout(r.id)?.currentWave).toBe(1);
    expect(channel.deploysTo("d")).toHaveLength(1);
  });

  it("does not auto-advance below minSuccessRate, and an operator can advance", async () => {
    for (const a of agents) await connect(a);
    const waves = [
      { name: "first", agents: ["a", "b"], minSuccessRate: 1 },
      { name: "rest", agents: ["c", "d"] },
    ];
    const r = await engine.create(spec({ waves, autoAdvance: true, failureThreshold: { count: 5 } }), "op");
    await report("a", `${r.id}:a`, "succeeded");
    await report("b", `${r.id}:b`, "failed");
    await engine.tick();
    expect(store.getRollout(r.id)?.currentWave).toBe(0);
    await engine.advance(r.id, "op");
    expect(store.getRollout(r.id)?.currentWave).toBe(1);
    await expect(engine.advance(r.id, "op")).rejects.toThrow(/last wave/);
  });

  it("pauses itself when failures reach the threshold and sends nothing more", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(
      spec({ waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 2 } }),
      "op",
    );
    await report("a", `${r.id}:a`, "failed");
    expect(store.getRollout(r.id)?.state).toBe("running");
    await report("b", `${r.id}:b`, "failed");
    const halted = store.getRollout(r.id)!;
    expect(halted.state).toBe("paused");
    // Said as a snapshot: agents still updating may fail later and raise the view's counts.
    expect(halted.reason).toMatch(/2 failure\(s\).*2 failed when it halted/);
    expect(store.getDeployment(`${r.id}:b`)?.error).toBe("failed");
    // Resuming accepts the failures seen so far: the next failure alone does not re-halt at count 2.
    await engine.resume(r.id, "op");
    await report("c", `${r.id}:c`, "failed");
    expect(store.getRollout(r.id)?.state).toBe("running");
  });

  it("halts on a failure report at once, without waiting for a tick", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { count: 1 } }), "op");
    await reportOnly("a", `${r.id}:a`, "failed", randomUUID());
    expect(store.getRollout(r.id)?.state).toBe("paused");
  });

  it("halts on a percentage threshold", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { percent: 50 } }), "op");
    await report("a", `${r.id}:a`, "failed");
    expect(store.getRollout(r.id)?.state).toBe("running");
    await report("b", `${r.id}:b`, "failed");
    expect(store.getRollout(r.id)?.state).toBe("paused");
  });

  const forty = Array.from({ length: 40 }, (_, i) => `h${String(i).padStart(2, "0")}`);
  // "0% failed reached" with one failure read as a contradiction; any percent needs one failure.
  it("halts a 0 % threshold on the first failure, and says so", async () => {
    for (const a of forty.slice(0, 3)) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { percent: 0 } }), "op");
    await report("h00", `${r.id}:h00`, "failed");
    expect(store.getRollout(r.id)).toMatchObject({
      state: "paused",
      reason:
        "failure threshold (0% failed of the agents it updates: the first failure) reached: 1 of the 3 agent(s) it updated failed when it halted",
    });
  });

  // 23 / 40 × 100 is 57.49999999999999 in floating point: the share was judged below 57.5 %.

  it("halts when failures are exactly a percentage threshold's share (23 of 40 at 57.5 %)", async () => {
    for (const a of forty) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { percent: 57.5 } }), "op");
    for (const a of forty.slice(0, 22)) await report(a, `${r.id}:${a}`, "failed");
    expect(store.getRollout(r.id)?.state).toBe("running");
    await report(forty[22]!, `${r.id}:${forty[22]}`, "failed");
    expect(store.getRollout(r.id)).toMatchObject({
      state: "paused",
      reason:
        "failure threshold (57.5% failed of the agents it updates) reached: 23 of the 40 agent(s) it updated failed when it halted",
    });
  });

  it("warns of offline agents that are exactly a percentage threshold's share", async () => {
    for (const a of forty) await connect(a);
    for (const a of forty.slice(0, 23)) await sync.disconnected(a);
    const preview = await engine.preview(spec({ failureThreshold: { percent: 57.5 } }));
    expect(preview.warnings).toContainEqual(
      expect.stringMatching(
        /^body\.failureThreshold: 23 of the 40 agent\(s\) it updates in the waves up to all are offline now .*enough to halt the rollout \(57\.5% failed of the agents it updates\)/,
      ),
    );
  });

  it("abort with rollback sends every updated agent back to its previous release at once", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ waves: explicitWaves, autoAdvance: true }), "op");
    await report("a", `${r.id}:a`, "succeeded");
    await report("b", `${r.id}:b`, "succeeded");
    await engine.abort(r.id, "op", true);
    expect(store.getRollout(r.id)?.state).toBe("aborted");
    const back = channel.deploysTo("a").at(-1)!;
    expect(back).toMatchObject({ rollback: true, deploymentId: `${r.id}:a~rollback`, release: { id: "r1" } });
    // c was sent the update but has not reported: it is sent back too.
    expect(channel.deploysTo("c").at(-1)?.rollback).toBe(true);
    await report("a", back.deploymentId, "succeeded");
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("rolled_back");
    // A late report of the original update must not undo the rollback instruction.
    await report("c", `${r.id}:c`, "succeeded");
    expect(store.getDeployment(`${r.id}:c`)?.state).toBe("rollback_pending");
  });

  it("abort with rollback also takes the release back from agents an earlier, aborted rollout of it updated", async () => {
    for (const a of agents) await connect(a);
    const first = await engine.create(spec({ waves: explicitWaves }), "op");
    await report("a", `${first.id}:a`, "succeeded");
    await engine.abort(first.id, "op", false);
    // The same release again: a already runs it (planned succeeded, nothing sent), the others update.
    const again = await engine.create(spec({}), "op");
    expect(store.getDeployment(`${again.id}:a`)).toMatchObject({ state: "succeeded", previousRelease: "r1" });
    for (const x of ["b", "c", "d"]) await report(x, `${again.id}:${x}`, "succeeded");
    expect(store.getRollout(again.id)?.state).toBe("completed");
    await engine.abort(again.id, "op", true);
    // Before, a was "NOT rolled back: the hub has no release of the version it ran before" (r1 it has).
    expect(store.getRollout(again.id)?.reason).toBe("aborted; rollback sent to 4 agent(s)");
    expect(channel.deploysTo("a").at(-1)).toMatchObject({ rollback: true, release: { id: "r1" } });
    // Asked again, with everyone already sent back: refused, and the reason that says what happened stays.
    await expect(engine.abort(again.id, "op", true)).rejects.toThrow(
      /is aborted and has nothing to roll back: each of its agents was sent back already, never updated by it, or found impossible to send back by an earlier rollback \(aborted; rollback sent to 4 agent\(s\)\)/,
    );
    expect(store.getRollout(again.id)?.reason).toBe("aborted; rollback sent to 4 agent(s)");
    // An abort of a rollout that is still running stops it, whether or not anyone was updated.
    const third = await engine.create(spec({ release: "r1" }), "op");
    expect((await engine.abort(third.id, "op", true)).rollout.state).toBe("aborted");
  });

  it("autoRollback: crossing the threshold fails the rollout and sends updated agents back", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ autoRollback: true, failureThreshold: { count: 1 } }), "op");
    await report("a", `${r.id}:a`, "succeeded");
    await report("b", `${r.id}:b`, "failed");
    const failed = store.getRollout(r.id)!;
    expect(failed.state).toBe("failed");
    expect(failed.reason).toMatch(/rollback sent to \d+ agent\(s\)$/);
    expect(channel.deploysTo("a").at(-1)).toMatchObject({ rollback: true, release: { id: "r1" } });
    expect(store.getDeployment(`${r.id}:b`)?.state).toBe("failed");
  });

  it("autoRollback with no agent on the release says there was nothing to send back", async () => {
    await connect("a");
    const r = await engine.create(spec({ autoRollback: true, failureThreshold: { count: 1 } }), "op");
    // Its host put the previous release back by itself: nobody runs the release.
    await report("a", `${r.id}:a`, "rolled_back");
    expect(store.getRollout(r.id)).toMatchObject({
      state: "failed",
      reason:
        "failure threshold (1 failure(s)) reached: 1 failed when it halted; no agent to send back: none was updated to the release or left on it",
    });
  });

  it("a repeated report is a no-op", async () => {
    await connect("a");
    const r = await engine.create(spec({ failureThreshold: { count: 1 } }), "op");
    const id = randomUUID();
    await report("a", `${r.id}:a`, "succeeded", id);
    const events = store.listEvents({ limit: 1000 }).length;
    await report("a", `${r.id}:a`, "failed", id);
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("succeeded");
    expect(store.listEvents({ limit: 1000 })).toHaveLength(events);
  });

  it("counts agents offline past the timeout as timed_out failures", async () => {
    for (const a of agents) await connect(a);
    channel.online.delete("d");
    await sync.disconnected("d");
    const r = await engine.create(spec({ failureThreshold: { count: 1 } }), "op");
    clock += 59_000;
    await engine.tick();
    expect(store.getDeployment(`${r.id}:d`)?.state).toBe("pending");
    clock += 2_000;
    await engine.tick();
    expect(store.getDeployment(`${r.id}:d`)).toMatchObject({
      state: "timed_out",
      error: expect.stringMatching(/offline/),
    });
    expect(store.getRollout(r.id)?.state).toBe("paused");
  });

  it("times out deployments of online agents with no progress or report (counted as failures, event logged)", async () => {
    startEngine({ progressTimeoutMs: 120_000 });
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { count: 2 } }), "op");
    const progress = (agentId: string, step: string) =>
      sync.progress(agentId, { type: "progress", v: 1, deploymentId: `${r.id}:${agentId}`, step });
    await progress("a", "fetch");
    await report("b", `${r.id}:b`, "succeeded");
    clock += 100_000;
    await progress("a", "apply"); // still working: a sign of life
    await engine.tick();
    expect(store.getDeployment(`${r.id}:c`)?.state).toBe("sent");
    clock += 21_000;
    await engine.tick();
    for (const silent of ["c", "d"]) {
      expect(store.getDeployment(`${r.id}:${silent}`)).toMatchObject({
        state: "timed_out",
        error: expect.stringMatching(
          /no progress or report from the agent for 121 s \(progress timeout 120 s\)/,
        ),
      });
    }
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("in_progress");
    expect(store.getDeployment(`${r.id}:b`)?.state).toBe("succeeded");
    const timedOut = store.listEvents({ limit: 1000 }).filter((e) => e.kind === "deployment.timed_out");
    expect(timedOut.map((e) => e.subject).sort()).toEqual([`${r.id}:c`, `${r.id}:d`]);
    expect(store.getRollout(r.id)).toMatchObject({
      state: "paused",
      reason: expect.stringMatching(/2 failed/),
    });
  });

  it("a tick judges deadlines as of the moment it is given (its timer's), not the clock read later", async () => {
    // The hub's timer fires, the input read meanwhile is applied, then the tick runs: a stall of the
    // hub in between (a transaction, a GC pause) moved the clock past a deadline whose report was
    // still unread, and a deployment that answered in time was timed out.
    startEngine({ progressTimeoutMs: 120_000 });
    await connect("a");
    const r = await engine.create(spec({ failureThreshold: { count: 1 } }), "op");
    const fired = clock + 119_000;
    clock += 125_000;
    await engine.tick(fired);
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("sent");
    expect(store.getRollout(r.id)?.state).toBe("running");
    await engine.tick();
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("timed_out");
  });

  it("an agent that connects later gets its instruction; one registering mid-rollout joins by bucket", async () => {
    await connect("a");
    const r = await engine.create(spec({}), "op");
    expect(store.getDeployment(`${r.id}:late`)).toBeUndefined();
    await connect("late");
    expect(store.getDeployment(`${r.id}:late`)?.state).toBe("sent");
    expect(channel.deploysTo("late")).toHaveLength(1);
    // Reconnecting re-sends the same instruction id: the agent treats it as a no-op.
    await connect("late");
    expect(channel.deploysTo("late").map((d) => d.deploymentId)).toEqual([`${r.id}:late`, `${r.id}:late`]);
  });

  it("an agent registering into a rollout whose canary is still empty becomes the canary", async () => {
    // The only agent at create is taken by a labels wave: the percent waves start empty.
    await connect("pilot", { ring: "pilot" });
    const r = await engine.create(
      spec({
        waves: [
          { name: "pilot", labels: { ring: "pilot" } },
          { name: "canary", percent: 1 },
          { name: "all", percent: 100 },
        ],
      }),
      "op",
    );
    await connect("first");
    expect(store.getDeployment(`${r.id}:first`)?.wave).toBe(1);
    await connect("second");
    // The canary has its member now: the next agent goes by its bucket (1 % of 10,000 buckets).
    const own = waveOf(seedOf(r), r.spec, "second", {});
    expect(store.getDeployment(`${r.id}:second`)?.wave).toBe(own);
  });

  it("a hub restart mid-rollout loses nothing and continues from stored timestamps: the wait counts the time the hub was down (as the README says)", async () => {
    for (const a of agents) await connect(a);
    const waves = [{ ...explicitWaves[0]!, waitMinutes: 5 }, explicitWaves[1]!];
    const r = await engine.create(spec({ waves, autoAdvance: true }), "op");
    await report("a", `${r.id}:a`, "succeeded");
    store.close();
    clock += 6 * 60_000;
    boot();
    store.markAllAgentsOffline();
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("succeeded");
    // Not before the canary's host is back and says it still runs the release.
    await engine.tick();
    expect(store.getRollout(r.id)?.currentWave).toBe(0);
    channel.online.add("a");
    await sync.hello("a", {
      type: "hello",
      v: 1,
      agentId: "a",
      hostname: "a",
      labels: {},
      agentVersion: "0.1.0",
      apps: [{ app: "web", version: "2.0.0", state: "updated", releaseId: "r2" }],
    });
    await engine.tick();
    expect(store.getRollout(r.id)?.currentWave).toBe(1);
    await connect("b");
    expect(channel.deploysTo("b")).toHaveLength(1);
    expect(store.getDeployment(`${r.id}:b`)?.state).toBe("sent");
  });

  it("refuses a rollout that would hold nobody with a 400 naming the field to fix, and stores nothing", async () => {
    const refused = (input: Partial<RolloutSpecInput>) => engine.create(spec(input), "op");
    // No agent at all, then agents without the app: the release's app is what nobody has.
    await expect(refused({})).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(
        /^body\.release: no registered agent has app web \(0 agent\(s\) registered\)/,
      ),
    });
    await connect("a", { env: "prod" });
    await connect("b", { env: "staging" });
    // A selector typo: said with the labels the app's agents do have.
    await expect(refused({ selector: { labels: { env: "prdo" } } })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(
        /^body\.selector\.labels: no agent with app web has env=prdo \(2 agent\(s\) have app web; their labels: env=prod; env=staging\)/,
      ),
    });
    // Waves that name nobody the selector kept.
    await expect(
      refused({ selector: { labels: { env: "prod" } }, waves: [{ name: "x", agents: ["b"] }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(
        /^body\.waves: no wave takes any of the 1 agent\(s\) with app web and env=prod/,
      ),
    });
    expect(store.listRollouts({ limit: 10 })).toEqual([]);
    expect(store.listEvents({ limit: 100 }).filter((e) => e.kind.startsWith("rollout."))).toEqual([]);
    // The app is not held: a rollout that takes someone starts at once.
    const r = await engine.create(spec({ selector: { labels: { env: "prod" } } }), "op");
    expect(store.getRollout(r.id)?.state).toBe("running");
    expect(channel.deploysTo("a")).toHaveLength(1);
  });

  it("ignores a report about another agent's deployment", async () => {
    for (const a of agents) await connect(a);
    const r = await engine.create(spec({ failureThreshold: { count: 1 } }), "op");
    await report("b", `${r.id}:a`, "failed");
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("sent");
    expect(store.getRollout(r.id)?.state).toBe("running");
  });

  it("refuses a second active rollout of the same app", async () => {
    await connect("a");
    await engine.create(spec({}), "op");
    await expect(engine.create(spec({}), "op")).rejects.toThrow(/finish or abort/);
  });
});
