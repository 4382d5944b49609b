import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpuMsDuring } from "../../support/cpu-time.js";
import { startTestHub, type TestHub } from "../hub/support.js";

const AGENTS = 10_000;
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub();
  const { store } = t.hub;
  await store.tx(async (tx) => {
    for (let i = 0; i < AGENTS; i++)
      await tx.upsertAgent({
        id: `host-${String(i).padStart(5, "0")}`,
        hostname: `host-${i}.example`,
        labels: { env: i % 10 === 0 ? "staging" : "prod", region: ["eu", "us", "ap"][i % 3] ?? "eu" },
        agentVersion: "0.1.0",
        apps: [{ app: "web", version: i % 2 === 0 ? "1.0.0" : "1.1.0", state: "ok" }],
        online: false,
        lastSeen: Date.now(),
      });
  });
});
afterAll(async () => {
  await t?.stop();
});

describe("the fleet view with 10,000 agents in the store", () => {
  it("answers the dashboard's first page, counts and facets in well under a second", async () => {
    // CPU time (the hub runs in this process), the best of three: on a loaded CI machine the wall
    // clock counts the wait for a core too, and three requests in a row could all wait a second.
    const url = "/api/v1/agents?limit=50&offset=0&facets=true&label=env=prod";
    let ms = Number.POSITIVE_INFINITY;
    let res = await t.api<{ agents: unknown[]; total: number; facets: { labels: Record<string, string[]> } }>(
      "GET",
      url,
      {
        token: t.operator,
      },
    );
    for (let i = 0; i < 3; i++) {
      const answered = await cpuMsDuring(() => t.api<typeof res.body>("GET", url, { token: t.operator }));
      res = answered.value;
      ms = Math.min(ms, answered.cpuMs);
    }
    expect(res.status).toBe(200);
    expect(res.body.agents).toHaveLength(50);
    expect(res.body.total).toBe(9000);
    expect(res.body.facets.labels.region).toEqual(["ap", "eu", "us"]);
    expect(ms).toBeLessThan(1000);
  });
});
