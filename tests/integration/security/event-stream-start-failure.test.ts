/**
 * The first event stream starts the hub's reader of audit events. When that start failed (the
 * store could not be read at that moment), the failure was kept: every later stream request was
 * refused with it, long after the store was back, until the hub restarted, and open dashboards
 * fell back to polling for good. Real hub (in process), real SQLite; the events table is taken
 * away and put back from a second connection, as a failing read looks to the hub.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

async function streamStatus(): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${t.hub.url}/api/v1/stream`, {
    headers: { authorization: `Bearer ${t.operator}` },
    signal: controller.signal,
  });
  controller.abort();
  return res.status;
}

describe("an event stream whose reader could not start", () => {
  it("is refused while the store fails, and served again once it is back", async () => {
    const db = new Database(join(t.dir, "hub.db"));
    try {
      db.exec("ALTER TABLE events RENAME TO events_away");
      expect(await streamStatus()).toBeGreaterThanOrEqual(500);
      db.exec("ALTER TABLE events_away RENAME TO events");
    } finally {
      db.close();
    }
    expect(await streamStatus()).toBe(200);
  });
});
