/**
 * While the hub's PostgreSQL is down, every connected agent whose token is due for renewal failed
 * to renew it once a second, every agent that reconnected failed its token check, and every API
 * request (each open dashboard polls every 2 s) failed: each wrote an error line, so an outage
 * wrote one line per agent a second (1,000 agents: 60,000 lines a minute) and buried the line that
 * said what was wrong. Each is now said once a minute, with a
 * count of the rest when the minute ends. Real hub process, real PostgreSQL stopped, real WebSocket.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { connectAgent, linesOf, upgradeStatus, writtenLinesOf } from "./agent-channel-client.js";

const AGENTS = 6;

describe.runIf(canRunCluster())("the hub's log while its PostgreSQL is down", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // The hub keeps its agents for the whole test (no watchdog drop at 30 s of silence).
    cluster = await Cluster.start({ hubs: 1, hub: { cluster_hub_timeout_seconds: 300 } });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("failed renewals, token checks, API requests, ticks, deliveries and agent messages are each logged once, not once per agent and attempt", async () => {
    const hub = cluster.hub(0);
    const ids = Array.from({ length: AGENTS }, (_, i) => `out-${i}`);
    // Tokens that do not expire during the test: their check at connect needs the database.
    const longTokens = await cluster.mintTokens(ids.map((agentId) => ({ role: "agent", agentId })));
    // Minted last, so that their 8 s before renewal is due go to connecting and stopping the
    // database, not to minting the others: renewal then fails, tried again and again, until the
    // tokens expire at 16 s, which closes the sessions. On a machine at load 10 the database was
    // down 2 s after the mint and every check below done at 5.4 s; at load 18, down at 2.9 s: the
    // rest is waiting for the expiry, and a 20-s token (as before) only waited 4 s longer for it.
    const tokens = await cluster.mintTokens(
      ids.map((agentId) => ({ role: "agent", agentId, ttlSeconds: 16 })),
    );
    const sockets = await Promise.all(
      tokens.map((token, i) => connectAgent(hub.url, ids[i] as string, token)),
    );
    await cluster.waitFor("every agent online", async () => {
      const res = await fetch(`${hub.url}/api/v1/agents`, {
        headers: { authorization: `Bearer ${cluster.operator}` },
      });
      const body = (await res.json()) as { agents: { id: string; online: boolean }[] };
      return body.agents.filter((a) => a.online).length === AGENTS;
    });
    const closed = sockets.map((ws) => new Promise<void>((resolve) => ws.once("close", () => resolve())));
    await cluster.stopDatabase();
    // Down before any renewal was due (else the renewals succeed and no session closes).
    const renewalDue = tokens.map((token) => {
      const { iat, exp } = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
        iat: number;
        exp: number;
      };
      return ((iat + exp) / 2) * 1000;
    });
    expect(Date.now(), "the database stopped after renewal was due").toBeLessThan(Math.min(...renewalDue));

    // Agents reconnecting meanwhile (together: each waits seconds for the database client to give up).
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => upgradeStatus(hub.url, longTokens[i % AGENTS] as string)),
    );
    expect(statuses).toEqual(Array(10).fill(503));
    // The first of the minute, and nothing for the other attempts of it (counted when it ends).
    expect(await writtenLinesOf(hub.logFile, "could not check an agent's token")).toHaveLength(1);
    // Dashboards polling the API meanwhile (each open page every 2 s): one line, not one a request.
    const polls = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${hub.url}/api/v1/agents`, { headers: { authorization: `Bearer ${cluster.operator}` } }),
      ),
    );
    expect(polls.map((r) => r.status)).toEqual(Array(10).fill(503));
    // Each says when to come back, as the agent channel's 503 does (a client or proxy honouring it
    // would otherwise retry straight into the same refusal).
    expect(polls.map((r) => r.headers.get("retry-after"))).toEqual(Array(10).fill("5"));
    expect(await writtenLinesOf(hub.logFile, "request failed")).toHaveLength(1);
    // Agents still connected keep sending (progress of a deployment): each message failed alike.
    for (const ws of sockets)
      for (let i = 0; i < 3; i++)
        ws.send(JSON.stringify({ type: "progress", v: 1, deploymentId: `d-${i}`, step: "download" }));
    await cluster.waitFor("the messages were tried", async () =>
      (await readFile(hub.logFile, "utf8")).includes("agent message could not be applied"),
    );

    // Once a second per agent whose renewal was due, that was a line each every second or two.
    await Promise.all(closed);
    const renewals = await linesOf(hub.logFile, "could not renew an agent token");
    expect(renewals).toHaveLength(1);
    expect(renewals[0]).toMatchObject({ agentId: expect.stringMatching(/^out-\d$/) });
    // By now (over 10 s into the outage) the rollout tick failed 50 times and more (every 0.2 s)
    // and the deliveries' resync 3 times and more (every 3 s): one line each, and one for the 18
    // messages.
    expect(await linesOf(hub.logFile, "rollout tick failed")).toHaveLength(1);
    expect(await linesOf(hub.logFile, "delivering pending deployments failed")).toHaveLength(1);
    const messages = await linesOf(hub.logFile, "agent message could not be applied");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ agentId: expect.stringMatching(/^out-\d$/) });
  }, 90_000);
});
