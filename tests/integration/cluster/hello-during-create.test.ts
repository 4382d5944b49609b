/**
 * An agent whose hello commits while a rollout is being created is in that rollout. On PostgreSQL
 * (READ COMMITTED) the create read the agents before the hello committed and the hello read the
 * active rollouts before the create did: each missed the other, and the agent was never planned
 * (under load an `everyone` wave came out empty and the rollout "completed" without it). Two real
 * hubs in one process on a real PostgreSQL, real WebSocket agents. Each order is made certain with
 * a table lock an admin connection holds: the first transaction stops before its commit while the
 * second runs, as a loaded database would have it.
 */

import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { hasPostgres } from "../../support/servers/postgres.js";
import { publishRelease, TestAgent, type TestHub } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("an agent saying hello while a rollout is created", () => {
  const cluster = inProcessHubs();
  const agents: TestAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.ws.terminate();
  });

  async function setUp() {
    const { url, hubs } = await cluster.start([{}, {}]);
    const [a, b] = hubs as [TestHub, TestHub];
    const release = await publishRelease(a, "2.0.0");
    // One agent known before: the rollout has someone to plan whichever way the race goes.
    await hello(b, "early");
    await expect.poll(async () => (await b.hub.store.getAgent("early"))?.online).toBe(true);
    const admin = postgres(url, { max: 2, onnotice: () => {} });
    return { a, b, release, admin };
  }

  async function hello(hub: TestHub, id: string): Promise<void> {
    const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(id));
    agents.push(agent);
    agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
  }

  const create = (a: TestHub, release: string) =>
    a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });

  /** Whether a statement of the database waits for a lock (`kind`: a table, or an advisory lock). */
  const waiting = async (admin: postgres.Sql, kind: "relation" | "advisory") =>
    (
      await admin`SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
        AND wait_event_type = 'Lock' AND wait_event = ${kind}`
    ).length > 0;

  const planned = async (hub: TestHub, rolloutId: string) =>
    (await hub.hub.store.listDeployments({ rolloutId })).map((d) => d.agentId).sort();

  it("the create reads the agents first, the hello commits before the create does: the agent joins", async () => {
    const { a, b, release, admin } = await setUp();
    try {
      // The create stops at its insert into rollouts, after it read the agents.
      const locked = admin.reserve();
      const holder = await locked;
      await holder`BEGIN`;
      await holder`LOCK TABLE rollouts IN EXCLUSIVE MODE`;
      const created = create(a, release);
      await expect.poll(() => waiting(admin, "relation")).toBe(true);
      await hello(b, "late");
      // Without the fleet lock the hello commits now; with it, it waits for the create.
      await expect
        .poll(async () => (await b.hub.store.getAgent("late"))?.online === true || waiting(admin, "advisory"))
        .toBe(true);
      await holder`COMMIT`;
      holder.release();
      const answer = await created;
      expect(answer.status).toBe(201);
      await expect.poll(async () => (await b.hub.store.getAgent("late"))?.online).toBe(true);
      await expect.poll(() => planned(a, answer.body.id)).toEqual(["early", "late"]);
    } finally {
      await admin.end();
    }
  });

  it("the hello reads the rollouts first, the create commits before the hello does: the agent is planned", async () => {
    const { a, b, release, admin } = await setUp();
    try {
      // The hello stops at writing its agent.online event, after it read the active rollouts.
      const holder = await admin.reserve();
      await holder`BEGIN`;
      await holder`LOCK TABLE events IN EXCLUSIVE MODE`;
      await hello(b, "late");
      await expect.poll(() => waiting(admin, "relation")).toBe(true);
      const created = create(a, release);
      // Without the fleet lock the create reads the agents now (then waits for the events table
      // too); with it, it waits for the hello. Either way it stops.
      await expect
        .poll(async () => {
          const rows = await admin`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`;
          return (rows[0]?.n as number) >= 2;
        })
        .toBe(true);
      await holder`COMMIT`;
      holder.release();
      const answer = await created;
      expect(answer.status).toBe(201);
      await expect.poll(async () => (await b.hub.store.getAgent("late"))?.online).toBe(true);
      await expect.poll(() => planned(a, answer.body.id)).toEqual(["early", "late"]);
    } finally {
      await admin.end();
    }
  });
});
