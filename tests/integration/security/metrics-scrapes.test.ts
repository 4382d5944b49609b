/**
 * `/metrics` needs no token (Prometheus scrapes it; README: keep it on a private interface), so
 * what one request makes the hub do must not grow with the hub's history: the store's counts scan
 * whole tables, and scrapes at once must not add up.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
  // A hub's deployments are kept (one per agent per rollout): 450,000 is 3,000 agents and 150
  // rollouts. Written straight into the database, as years of rollouts would leave it.
  const db = new Database(join(t.dir, "hub.db"));
  db.pragma("foreign_keys = OFF");
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 450000)
    INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
      SELECT 'd' || i, 'r' || (i / 3000), 'a' || (i % 3000), 0, 'rel',
        CASE i % 3 WHEN 0 THEN 'succeeded' WHEN 1 THEN 'failed' ELSE 'cancelled' END, 0 FROM n;
  `);
  db.close();
}, 60_000);
afterAll(async () => {
  await t.stop();
});

async function timed(path: string): Promise<{ ms: number; text: string }> {
  const start = performance.now();
  const res = await fetch(`${t.hub.url}${path}`);
  const text = await res.text();
  return { ms: performance.now() - start, text };
}

describe("/metrics without a token cannot stall the hub", () => {
  it("20 scrapes at once of a hub with 450,000 deployments: /healthz still answers within 1.5 s", async () => {
    // None read yet: the scrapes arriving together share one read of the counts.
    const scrapes = Array.from({ length: 20 }, () => timed("/metrics"));
    await new Promise((r) => setTimeout(r, 50));
    const health = await timed("/healthz");
    const answers = await Promise.all(scrapes);
    for (const a of answers) {
      expect(a.text).toContain('ship_hub_deployments{state="failed"} 150000');
      expect(a.text).toContain('ship_hub_deployments{state="succeeded"} 150000');
    }
    // Without the bound every scrape scanned the table again: /healthz waited for all 20.
    expect(health.ms).toBeLessThan(1500);
  }, 60_000);
});
