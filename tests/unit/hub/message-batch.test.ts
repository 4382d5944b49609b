import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RolloutEngine } from "../../../hub/rollouts/engine.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { MessageBatch } from "../../../hub/ws/message-batch.js";
import { memoryLogger } from "../../../shared/log.js";

let dir: string;
let store: SqliteStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-batch-"));
  store = new SqliteStore(join(dir, "hub.db"));
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("MessageBatch", () => {
  it("applies a turn's messages together; a failing one is skipped without undoing the others", async () => {
    const engine = new RolloutEngine({
      store,
      channel: { isOnline: () => false, send: () => false },
      now: Date.now,
      offlineTimeoutMs: 1000,
    });
    const lines: { level: string; msg: string }[] = [];
    const batch = new MessageBatch(engine, memoryLogger(lines));
    const committed: string[] = [];
    const event = (subject: string) =>
      store.appendEvent({ at: 1, actor: "t", kind: "k", subject, data: null });
    batch.add(
      () => event("first"),
      () => committed.push("first"),
    );
    batch.add(
      () => {
        event("half-written");
        throw new Error("boom");
      },
      () => committed.push("broken"),
    );
    batch.add(
      () => event("third"),
      () => committed.push("third"),
    );
    expect(committed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(committed).toEqual(["first", "third"]);
    expect(store.listEvents({ limit: 10 }).map((e) => e.subject)).toEqual(["third", "first"]);
    expect(lines.map((l) => l.msg)).toEqual(["agent message could not be applied"]);
    batch.close();
    batch.add(() => event("after-close"));
    await new Promise((r) => setImmediate(r));
    expect(store.listEvents({ limit: 10 })).toHaveLength(2);
  });
});
