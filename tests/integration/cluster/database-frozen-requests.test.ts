/**
 * API requests while the hub's PostgreSQL does not answer (frozen with SIGSTOP: a VM paused, a
 * network dropping packets). A request whose query went out on a connection already open waited
 * for as long as the database stayed silent; Node cut it after 120 s with no answer at all, so an
 * operator's `ship-hub agents` hung and then failed with no reason. Each request is now answered
 * while the database is still frozen: 503, Retry-After, the database named as the cause; so is an
 * agent's connection (its token is checked in the database).
 *
 * And connections that went silent while the database still answers new ones (a NAT or firewall
 * that lost its state, a failover to the same address): they stayed in the pool and kept being
 * handed queries, so every request answered 503 after 15 s for as long as the kernel kept them
 * (about 15 min; for ever behind a relay that acknowledges), though the database was right there.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DatabaseNoAnswer } from "../../../hub/store/answer-deadline.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { hasPostgres } from "../../support/servers/postgres.js";
import { silenceableRelay } from "../../support/servers/silent-relay.js";
import type { TestHub } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

const FROZEN_MS = 40_000;
const PATHS = ["/api/v1/rollouts", "/api/v1/agents", "/api/v1/releases", "/api/v1/events"];

describe.skipIf(!hasPostgres())("API requests while the database does not answer", () => {
  const cluster = inProcessHubs();

  it("are answered 503 with Retry-After naming the database before it answers again", async () => {
    // Answers given up on after 3 s, not the default 15 s: the bound under test is that they come
    // while the database is still frozen, which the default only took longer to show.
    const { url, hubs } = await cluster.start([{ tickIntervalMs: 1_000, databaseAnswerTimeoutMs: 3_000 }]);
    const hub = hubs[0] as TestHub;
    const get = (path: string) =>
      fetch(`${hub.hub.url}${path}`, { headers: { authorization: `Bearer ${hub.operator}` } });
    // Several requests at once open several pool connections, which the freeze leaves open.
    for (const res of await Promise.all([...PATHS, ...PATHS].map(get))) expect(res.status).toBe(200);
    // Issued before the freeze: the token is written to the database.
    const agentToken = await hub.agentToken("a1");
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
      const upgrade = new Promise<{ whileFrozen: boolean; status: number; retryAfter: unknown }>(
        (resolve, reject) => {
          const ws = new WebSocket(`${hub.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
            headers: { authorization: `Bearer ${agentToken}` },
          });
          ws.once("unexpected-response", (_req, res) => {
            resolve({
              whileFrozen: !thawed,
              status: res.statusCode ?? 0,
              retryAfter: res.headers["retry-after"],
            });
            ws.terminate();
          });
          ws.once("open", () => {
            resolve({ whileFrozen: !thawed, status: 101, retryAfter: undefined });
            ws.terminate();
          });
          ws.once("error", (error) =>
            error.message.startsWith("Unexpected server response") ? {} : reject(error),
          );
        },
      );
      const answers = await Promise.all(
        [...PATHS, ...PATHS].map(async (path) => {
          const res = await get(path);
          return {
            path,
            whileFrozen: !thawed,
            status: res.status,
            retryAfter: res.headers.get("retry-after"),
            error: ((await res.json()) as { error?: string }).error,
          };
        }),
      );
      for (const answer of answers)
        expect(answer).toMatchObject({
          whileFrozen: true,
          status: 503,
          retryAfter: "5",
          error: expect.stringMatching(
            /^the hub's database (is unreachable|did not answer within \d+ s); try again$/,
          ),
        });
      expect(await upgrade).toEqual({ whileFrozen: true, status: 503, retryAfter: "5" });
    } finally {
      // Every answer came while frozen: the rest of FROZEN_MS (the bound they had to beat) proves nothing more.
      thaw.abort();
      await frozen;
    }
    // And the hub serves again once the database answers.
    await expect.poll(async () => (await get("/api/v1/rollouts")).status, { timeout: 20_000 }).toBe(200);
  }, 90_000);

  it("replaces connections gone silent once a new connection answers", async () => {
    const direct = new URL(await cluster.server().createDatabase());
    const relay = await silenceableRelay(Number(direct.port));
    const viaRelay = new URL(direct);
    viaRelay.port = String(relay.port);
    const store = await openPostgresStore(viaRelay.href, { maxConnections: 3, answerTimeoutMs: 1_000 });
    try {
      // More calls at once than connections: every connection of the pool is open, and busy.
      await Promise.all(Array.from({ length: 9 }, () => store.clock()));
      expect(relay.silenceOpen()).toBeGreaterThanOrEqual(3);
      await expect(store.clock()).rejects.toBeInstanceOf(DatabaseNoAnswer);
      // Answered again, plain calls and transactions, while the silent ones were never closed by
      // the network; they are let go too (no socket held for ever).
      await expect
        .poll(
          async () =>
            (await store.clock().then(
              () => true,
              () => false,
            )) && store.tx(async (t) => t.listOnlineAgentIds()),
          {
            timeout: 30_000,
          },
        )
        .toEqual([]);
      await expect.poll(() => relay.silencedOpen(), { timeout: 30_000 }).toBe(0);
    } finally {
      await store.close(0);
      await relay.close();
    }
  }, 90_000);
});
