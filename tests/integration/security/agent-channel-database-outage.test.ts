/**
 * The agent channel while the hub's PostgreSQL is down: the token cannot be looked up, which says
 * nothing about the token. The upgrade was refused 401 with the database client's error as the
 * reason (`X-Ship-Refused: connect ECONNREFUSED 127.0.0.1:PORT`, the database's address told to
 * any client), the agent treated its token as refused, and the hub logged and listed a refused
 * agent for every agent of the fleet. And a live session whose token expired during the outage
 * stayed open: the check that closes them gave up when it could not read revocations. Real hub
 * process, real PostgreSQL stopped, real WebSocket and event stream.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Cluster, canRunCluster } from "../../support/cluster.js";

/** The status and X-Ship-Refused of an agent channel upgrade that the hub refuses. */
function refusedUpgrade(
  url: string,
  token: string,
): Promise<{ status: number; reason: string; retryAfter: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.once("open", () => {
      ws.terminate();
      reject(new Error("the hub opened the agent channel"));
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve({
        status: res.statusCode ?? 0,
        reason: String(res.headers["x-ship-refused"] ?? ""),
        retryAfter: String(res.headers["retry-after"] ?? ""),
      });
      ws.terminate();
    });
    // A hub that died with its database refuses the connection: said at once, not after 60 s.
    ws.once("error", reject);
  });
}

describe.runIf(canRunCluster())("a hub whose PostgreSQL is down", () => {
  let cluster: Cluster;
  let agentToken: string;
  let stream: ReadableStreamDefaultReader<Uint8Array>;
  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 1 });
    agentToken = await cluster.tokenCreate("--role", "agent", "--agent", "outage-1");
    // An operator's event stream on a token that expires during the outage.
    const operator = await cluster.tokenCreate("--role", "operator", "--ttl", "4s");
    const res = await fetch(`${cluster.hub(0).url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(res.status).toBe(200);
    stream = (res.body as ReadableStream<Uint8Array>).getReader();
    await cluster.stopDatabase();
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("the agent channel answers 503 saying the database is unreachable: not a token refusal, and no refused agent logged", async () => {
    const hub = cluster.hub(0);
    const answer = await refusedUpgrade(hub.url, agentToken);
    expect(answer).toEqual({
      status: 503,
      reason: "the hub's database is unreachable; try again",
      retryAfter: "5",
    });
    const log = await readFile(hub.logFile, "utf8");
    expect(log).not.toContain("refused an agent connection");
  });

  it("an event stream whose token expires during the outage is closed at its exp", async () => {
    const ended = (async () => {
      for (;;) if ((await stream.read()).done) return "ended";
    })();
    // Revocations cannot be read while the database is down; expiry needs no database. Without
    // the fix the stream stayed open for the whole outage.
    const outcome = await Promise.race([
      ended,
      new Promise<string>((r) => setTimeout(() => r("still open 8 s after exp"), 12_000)),
    ]);
    expect(outcome).toBe("ended");
  });
});
