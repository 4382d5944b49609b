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

async function scrape(): Promise<string> {
  return (await fetch(`${t.hub.url}/metrics`)).text();
}

describe("/metrics without a token cannot stall the hub", () => {
  it("20 scrapes at once of a hub with 450,000 deployments share one read of the counts; /healthz answers meanwhile", async () => {
    // Counted, not timed: without the bound every scrape scanned the table again and /healthz
    // waited for all 20, but on a loaded CI machine a clock deadline fails for a wait for a core.
    const store = t.hub.store;
    const read = store.countDeploymentsByState.bind(store);
    let reads = 0;
    store.countDeploymentsByState = () => {
      reads++;
      return read();
    };
    try {
      const scrapes = Array.from({ length: 20 }, () => scrape());
      await new Promise((r) => setTimeout(r, 50));
      const health = await fetch(`${t.hub.url}/healthz`);
      const answers = await Promise.all(scrapes);
      expect(health.status).toBe(200);
      for (const text of answers) {
        expect(text).toContain('ship_hub_deployments{state="failed"} 150000');
        expect(text).toContain('ship_hub_deployments{state="succeeded"} 150000');
      }
      expect(reads).toBe(1);
    } finally {
      store.countDeploymentsByState = read;
    }
  }, 60_000);
});
