import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentSync } from "../../../hub/rollouts/agent-sync.js";
import type { Dispatch } from "../../../hub/rollouts/dispatch.js";
import { RolloutEngine } from "../../../hub/rollouts/engine.js";
import type { AsyncStore } from "../../../hub/store/async-store.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { MessageBatch } from "../../../hub/ws/message-batch.js";
import { memoryLogger } from "../../../shared/log.js";

let dir: string;
let store: AsyncStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-batch-"));
  store = sqliteAsyncStore(new SqliteStore(join(dir, "hub.db")), join(dir, "artifacts"));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("MessageBatch", () => {
  it("applies a turn's messages together; a failing one is skipped without undoing the others", async () => {
    const engine = new RolloutEngine({
      store,
      channel: { isOnline: () => false, connectedAgentIds: () => [], send: () => false },
      now: Date.now,
      offlineTimeoutMs: 1000,
    });
    const lines: { level: string; msg: string }[] = [];
    const batch = new MessageBatch(new AgentSync(engine), memoryLogger(lines));
    const committed: string[] = [];
    const event = (d: Dispatch, subject: string) =>
      d.t.appendEvent({ at: 1, actor: "t", kind: "k", subject, data: null });
    batch.add(
      (d) => event(d, "first"),
      () => committed.push("first"),
    );
    batch.add(
      async (d) => {
        await event(d, "half-written");
        throw new Error("boom");
      },
      () => committed.push("broken"),
    );
    batch.add(
      (d) => event(d, "third"),
      () => committed.push("third"),
    );
    expect(committed).toEqual([]);
    await settle();
    expect(committed).toEqual(["first", "third"]);
    expect((await store.listEvents({ limit: 10 })).map((e) => e.subject)).toEqual(["third", "first"]);
    expect(lines.map((l) => l.msg)).toEqual([
      "agent message batch failed; applying its messages one by one",
      "agent message could not be applied",
    ]);
    await batch.close();
    batch.add((d) => event(d, "after-close"));
    await settle();
    expect(await store.listEvents({ limit: 10 })).toHaveLength(2);
  });
});
