/**
 * Every operator action on a rollout, sent to two hubs of one PostgreSQL at the same moment (two
 * operators, one dashboard each): exactly one is carried out (200), the other is refused (409)
 * with what happened meanwhile — not two pauses, two resumes or two aborts recorded. And a token
 * revoked on one hub is refused by the other at once. Two real hubs in one process on a real
 * PostgreSQL, real WebSocket agents.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hasPostgres } from "../../support/servers/postgres.js";
import { publishRelease, TestAgent, type TestHub } from "../hub/support.js";
import { CLUSTER_SECRET, inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("operator actions on two hubs at once", () => {
  const cluster = inProcessHubs();
  const agents: TestAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.ws.terminate();
  });

  /** Two hubs, an agent on each, and a running two-wave rollout that waits for an operator. */
  async function running() {
    const [a, b] = (await cluster.start([{}, {}])).hubs as [TestHub, TestHub];
    const release = await publishRelease(a, "2.0.0");
    for (const [hub, id] of [
      [a, "a1"],
      [b, "b1"],
    ] as const) {
      const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(id));
      agents.push(agent);
      agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
      await expect.poll(async () => (await hub.hub.store.getAgent(id))?.online).toBe(true);
    }
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: {
        release,
        waves: [
          { name: "one", percent: 50 },
          { name: "all", percent: 100 },
        ],
      },
    });
    expect(created.status).toBe(201);
    return { a, b, id: created.body.id };
  }

  const both = (a: TestHub, b: TestHub, path: string, body: unknown) =>
    Promise.all(
      [a, b].map((hub) => hub.api("POST", `/api/v1/rollouts/${path}`, { token: hub.operator, body })),
    );

  const eventsOf = async (hub: TestHub, id: string, kind: string) =>
    (await hub.hub.store.listEvents({ subject: id, limit: 1000 })).filter((e) => e.kind === kind).length;

  it("pause, resume, abort: one 200 and one 409 each, and one event each", async () => {
    const { a, b, id } = await running();
    for (const [action, kind, body] of [
      ["pause", "rollout.paused", {}],
      ["resume", "rollout.resumed", {}],
      ["abort", "rollout.aborted", { rollback: false }],
    ] as const) {
      const answers = await both(a, b, `${id}/${action}`, body);
      expect(answers.map((x) => x.status).sort(), action).toEqual([200, 409]);
      expect(await eventsOf(a, id, kind), action).toBe(1);
    }
  });

  it("abort with rollback on both hubs: one 200, one 409, one abort recorded", async () => {
    const { a, b, id } = await running();
    const answers = await both(a, b, `${id}/abort`, { rollback: true });
    expect(answers.map((x) => x.status).sort()).toEqual([200, 409]);
    expect(await eventsOf(a, id, "rollout.aborted")).toBe(1);
  });

  it("a token revoked with `ship-hub token revoke` (SHIP_HUB_DATABASE_URL) is refused by both hubs at once", async () => {
    requireHubBin();
    const { url, hubs } = await cluster.start([{}, {}]);
    const [a, b] = hubs as [TestHub, TestHub];
    const { record, token } = await a.hub.tokens.issue({ role: "operator", ttlSeconds: 3600 });
    const list = (hub: TestHub) => hub.api("GET", "/api/v1/rollouts", { token });
    expect((await list(a)).status).toBe(200);
    expect((await list(b)).status).toBe(200);
    // An operator's shell on some machine: no hub.toml, the database and secret from the environment.
    const cwd = await mkdtemp(join(tmpdir(), "ship-revoke-"));
    const revoked = await runHubCli(cwd, ["token", "revoke", record.jti], {
      SHIP_HUB_DATABASE_URL: url,
      SHIP_HUB_SECRET: CLUSTER_SECRET,
    }).finally(() => rm(cwd, { recursive: true, force: true }));
    expect(revoked, revoked.stderr).toMatchObject({ code: 0 });
    expect((await list(b)).status).toBe(401);
    expect((await list(a)).status).toBe(401);
  });
});
