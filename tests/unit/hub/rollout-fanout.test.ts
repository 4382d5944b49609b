import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentSync } from "../../../hub/rollouts/agent-sync.js";
import type { AgentChannel } from "../../../hub/rollouts/dispatch.js";
import { RolloutEngine } from "../../../hub/rollouts/engine.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { MessageBatch } from "../../../hub/ws/message-batch.js";
import { RolloutSpec } from "../../../shared/api/bodies.js";
import { memoryLogger } from "../../../shared/log.js";
import { Deploy, type HubMessage } from "../../../shared/protocol/messages.js";

/** Records what the engine hands the WebSocket layer, including the pre-encoded text. */
class EncodingChannel implements AgentChannel {
  online = new Set<string>();
  sent: { agentId: string; message: HubMessage; text: string }[] = [];
  isOnline(agentId: string) {
    return this.online.has(agentId);
  }
  connectedAgentIds() {
    return [...this.online];
  }
  send(agentId: string, message: HubMessage, encoded?: string) {
    this.sent.push({ agentId, message, text: encoded ?? JSON.stringify(message) });
    return true;
  }
}

let dir: string;
let store: SqliteStore;
let channel: EncodingChannel;
let engine: RolloutEngine;
let sync: AgentSync;
let clock: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-fanout-"));
  store = new SqliteStore(join(dir, "hub.db"));
  channel = new EncodingChannel();
  clock = 1_000_000;
  // The engine runs on the async store; assertions read the same SQLite file synchronously.
  engine = new RolloutEngine({
    store: sqliteAsyncStore(store, join(dir, "artifacts")),
    channel,
    now: () => clock,
    offlineTimeoutMs: 60_000,
  });
  sync = new AgentSync(engine);
  store.insertRelease({
    id: "r2",
    app: "web",
    version: "2.0.0",
    manifest: 'version: "2.0.0"\n',
    source: { type: "git", commit: "abcdef1" },
    signature: "c2ln",
    created: 0,
    createdBy: "ci",
  });
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

async function register(agentId: string, online: boolean) {
  if (online) channel.online.add(agentId);
  await sync.hello(agentId, {
    type: "hello",
    v: 1,
    agentId,
    hostname: agentId,
    labels: {},
    agentVersion: "0.1.0",
    apps: [{ app: "web", version: "1.0.0", state: "ok" }],
  });
  if (!online) await sync.disconnected(agentId);
}

describe("wave fan-out", () => {
  it("stores the first wave's connected agents as sent, with one event each, after rollout.created", async () => {
    for (const id of ["a", "b", "c"]) await register(id, true);
    await register("off", false);
    const r = await engine.create(
      RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }] }),
      "op",
    );
    const states = Object.fromEntries(
      store.listDeployments({ rolloutId: r.id }).map((d) => [d.agentId, [d.state, d.attempts]]),
    );
    expect(states).toEqual({ a: ["sent", 1], b: ["sent", 1], c: ["sent", 1], off: ["pending", 0] });
    const kinds = store
      .listEvents({ limit: 100 })
      .filter((e) => e.subject.startsWith(r.id))
      .reverse()
      .map((e) => `${e.kind} ${e.subject}`);
    expect(kinds).toEqual([
      `rollout.created ${r.id}`,
      `deployment.sent ${r.id}:a`,
      `deployment.sent ${r.id}:b`,
      `deployment.sent ${r.id}:c`,
    ]);
    expect(channel.sent.map((s) => s.agentId).sort()).toEqual(["a", "b", "c"]);
    for (const { agentId, message, text } of channel.sent) {
      expect(text).toBe(JSON.stringify(message));
      expect(Deploy.parse(JSON.parse(text))).toMatchObject({
        deploymentId: `${r.id}:${agentId}`,
        rollback: false,
        release: { id: "r2", version: "2.0.0", signature: "c2ln" },
      });
    }
  });

  it("reaches an offline agent when it reconnects, once, and times it out only after the timeout", async () => {
    await register("a", true);
    await register("off", false);
    const r = await engine.create(
      RolloutSpec.parse({
        release: "r2",
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 5 },
      }),
      "op",
    );
    clock += 59_999;
    await engine.tick();
    expect(store.getDeployment(`${r.id}:off`)?.state).toBe("pending");
    clock += 1;
    await engine.tick();
    expect(store.getDeployment(`${r.id}:off`)).toMatchObject({ state: "timed_out" });
    expect(store.getDeployment(`${r.id}:a`)?.state).toBe("sent");
    await register("late", false);
    await register("late", true);
    expect(channel.sent.filter((s) => s.agentId === "late")).toHaveLength(1);
    expect(store.getDeployment(`${r.id}:late`)).toMatchObject({ state: "sent", attempts: 1 });
  });

  it("a batch of failure reports halts the rollout in its own transaction, evaluating it once", async () => {
    const ids = ["a", "b", "c", "d", "e"];
    for (const id of ids) await register(id, true);
    const r = await engine.create(
      RolloutSpec.parse({
        release: "r2",
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 3 },
      }),
      "op",
    );
    let counts = 0;
    const count = store.countDeploymentsOfRollout.bind(store);
    store.countDeploymentsOfRollout = (id) => {
      counts++;
      return count(id);
    };
    const batch = new MessageBatch(sync, memoryLogger([]));
    const acked: string[] = [];
    for (const id of ids.slice(0, 4))
      batch.report(
        id,
        {
          type: "report",
          v: 1,
          reportId: `00000000-0000-4000-8000-00000000000${ids.indexOf(id)}`,
          deploymentId: `${r.id}:${id}`,
          app: "web",
          releaseId: "r2",
          outcome: "failed",
          error: "boom",
          fromVersion: "1.0.0",
          toVersion: "2.0.0",
          steps: [],
        },
        () => acked.push(id),
      );
    await expect.poll(() => acked.length, { timeout: 10_000 }).toBe(4);
    expect(acked).toEqual(["a", "b", "c", "d"]);
    expect(counts).toBe(1);
    expect(store.getRollout(r.id)).toMatchObject({ state: "paused" });
    expect(store.getRollout(r.id)?.reason).toMatch(/4 failed/);
    expect(store.getDeployment(`${r.id}:e`)?.state).toBe("sent");
  });
});
