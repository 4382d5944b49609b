/**
 * An agent whose connection closes while the hub cannot reach its database is marked offline once
 * the database is back. Its close was applied once, failed, and was dropped (no agent resends a
 * close): the row said online, held by a live hub, for as long as that hub ran — the agent never
 * offline on any dashboard and its deployments never timing out (a cluster hub counts an agent
 * online in the database as connected to another hub). A real hub in cluster mode reaching a real
 * PostgreSQL through a relay that goes down and comes back, a real WebSocket agent.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { startTestHub, TestAgent, type TestHub } from "../hub/support.js";
import { CLUSTER_SECRET } from "./in-process-hubs.js";
import { startRelay } from "./pg-relay.js";

describe.skipIf(!hasPostgres())("an agent's close while the database is away", () => {
  let pg: PostgresServer;
  let dir: string;
  beforeAll(async () => {
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-close-outage-"));
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is applied once the database is back: the agent goes offline", async () => {
    const url = await pg.createDatabase();
    const relay = await startRelay(Number(new URL(url).port));
    const through = new URL(url);
    through.port = String(relay.port);
    const lines: { level: string; msg: string }[] = [];
    let hub: TestHub | undefined;
    try {
      hub = await startTestHub(
        {
          envSecret: CLUSTER_SECRET,
          database: { url: through.toString(), file: "test", key: "" },
          log: memoryLogger(lines),
        },
        join(dir, "hub"),
      );
      const t = hub;
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
      agent.hello("a1");
      const online = async () => (await t.hub.store.getAgent("a1"))?.online;
      await expect.poll(online, { timeout: 15_000 }).toBe(true);

      await relay.down();
      agent.ws.close();
      // The hub tried to write the close and could not.
      await expect
        .poll(() => lines.some((l) => l.msg.includes("agent message could not be applied")), {
          timeout: 15_000,
        })
        .toBe(true);
      await relay.up();
      await expect.poll(online, { timeout: 20_000 }).toBe(false);
    } finally {
      await hub?.stop();
      await relay.down();
    }
  }, 90_000);
});
