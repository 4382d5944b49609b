/**
 * A cluster hub stopped (SIGTERM) while its database does not answer: a server frozen, a network
 * dropping packets, a failover in progress. Its clean stop writes to the database (its agents
 * marked offline, its heartbeat retired) and waited for that answer for as long as the database
 * stayed silent, so `systemctl stop` hung until systemd's SIGKILL (90 s). It now gives up on the
 * database after a few seconds, as a killed hub would (the other hubs release its agents after
 * the hub timeout), and stops. Real PostgreSQL, frozen with SIGSTOP.
 */
import { describe, expect, it } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { hasPostgres } from "../../support/servers/postgres.js";
import { TestAgent, type TestHub } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

const FROZEN_MS = 25_000;

describe.skipIf(!hasPostgres())("a hub stopped while its database does not answer", () => {
  const cluster = inProcessHubs();

  it("stops before the database answers again, and says its agents were not released", async () => {
    const lines: { level: string; msg: string }[] = [];
    const { url, hubs } = await cluster.start([{ tickIntervalMs: 1_000, log: memoryLogger(lines) }]);
    const hub = hubs[0] as TestHub;
    const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken("a1"));
    agent.hello("a1");
    await expect
      .poll(async () => (await hub.hub.store.getAgent("a1"))?.online, { timeout: 15_000 })
      .toBe(true);
    let thawed = false;
    const thaw = new AbortController();
    let stopped = () => {};
    const isFrozen = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    const frozen = cluster.freeze(url, FROZEN_MS, { onFrozen: stopped, thaw: thaw.signal }).then(() => {
      thawed = true;
    });
    await Promise.race([isFrozen, frozen]);
    try {
      await hub.stop();
      expect(thawed).toBe(false);
      expect(lines.map((l) => l.msg)).toContain(
        "releasing this hub's agents failed: the database did not answer within 5 s; the other hubs release them after cluster_hub_timeout_seconds",
      );
      // Said once: the pool ended under the abandoned write is not a second failure.
      expect(lines.filter((l) => l.msg.startsWith("releasing this hub's agents failed"))).toHaveLength(1);
      expect(lines.map((l) => l.msg)).toContain("hub stopped");
    } finally {
      agent.ws.terminate();
      // The hub stopped while frozen: the rest of FROZEN_MS (the bound it had to beat) proves nothing more.
      thaw.abort();
      await frozen;
    }
  }, 60_000);
});
