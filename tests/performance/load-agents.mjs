#!/usr/bin/env node
// Load generator for the hub and cluster benchmarks and the cluster tests, forked with an IPC
// channel: N real WebSocket connections that behave like ship agents (token at upgrade, hello,
// report after a deploy, reports kept in an outbox until acked and resent after a reconnect).
// Times are absolute (performance.timeOrigin + now) so the parent can compare them with its own.
//
// Commands (IPC {cmd, ...}, each answered with {cmd, ...}):
//   connect {url, agents: [{id, token}], mode: "hub"|"bare", app, inFlight, reconnectUrl?}
//       reconnectUrl: where an agent whose connection the hub closed connects again (a balancer
//       in front of several hubs), with a short random backoff as real agents have; without it a
//       lost connection stays lost.
//   await-deploys {count, timeoutMs}  → {arrivals: [ms...], missing, byUrl: {url: [ms...]}}
//                                       (first deploy per agent and deployment since the last
//                                       reset-deploys; byUrl: the same by the URL each agent first
//                                       connected to, i.e. by hub)
//   reset-deploys {}                  → {}
//   report {timeoutMs?}               → {sentAt, lastAckAt, acked, ackMs: [ms...], timedOut?}
//                                       (each agent reports its latest deploy once; resolves when
//                                       all of these are acked, or after timeoutMs, default 120 s)
//   await-back {timeoutMs, minLost, since}
//                                     → {lost, back, lastBackAt, firstLostAt} once ≥ minLost
//                                       connections (default 1) lost at or after `since` (absolute
//                                       ms, default 0) are all open again
//   status {}                         → {open, lost, reconnects, outbox, sentReports, ackedReports}
//   unacked {}                        → {reports: [{agentId, reportId, deploymentId, open, url, ...}]}
//                                       (every report sent and not acked yet)
//   last-storm {}                     → {reports: [{agentId, reportId, deploymentId, acked, open}]}
//                                       (the latest `report` command's reports)
//   close {}
import WebSocket from "ws";

const SOURCE_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const clock = () => performance.timeOrigin + performance.now();
// An agent's reconnect delay: spread over this window so a dead hub's agents do not all knock at
// once (the agent's own backoff does the same with its jitter).
const RECONNECT_SPREAD_MS = 1000;

/**
 * @typedef {{deploymentId: string, releaseId: string, version: string}} DeployInfo
 * @typedef {{id: string, token: string, url: string, localAddress: string, ws: WebSocket,
 *   open: boolean, version: string, deploy?: DeployInfo, deployAt?: number, reported?: string,
 *   outbox: Map<string, {text: string, firstSentAt: number}>, lostAt?: number, backAt?: number}} Conn
 */
/** @type {Conn[]} */
const conns = [];
let benchApp = "";
let mode = "hub";
let reconnectUrl;
let closing = false;
const arrivals = [];
/** @type {Map<string, number[]>} */
const arrivalsByUrl = new Map();
let onArrival = () => {};
let acks = 0;
let lastAckAt = 0;
let onAck = () => {};
let onBack = () => {};
let reconnects = 0;
let sentReports = 0;
const ackMs = [];
/** The latest `report` command's reports: what a caller checks against what the hub stored. */
let lastStorm = [];
/** Ids of its reports not acked yet. */
const stormUnacked = new Set();

process.on("message", (message) => {
  handle(message).then(
    (reply) => process.send({ cmd: message.cmd, ...reply }),
    (error) => process.send({ cmd: message.cmd, error: String(error?.stack ?? error) }),
  );
});
process.on("disconnect", () => process.exit(0));

async function handle(message) {
  switch (message.cmd) {
    case "connect":
      return connectAll(message);
    case "await-deploys":
      return awaitDeploys(message);
    case "report":
      return reportAll(message);
    case "reset-deploys":
      arrivals.length = 0;
      arrivalsByUrl.clear();
      ackMs.length = 0;
      return {};
    case "await-back":
      return awaitBack(message);
    case "status":
      return status();
    case "unacked":
      return unacked();
    case "last-storm":
      return {
        reports: lastStorm.map(({ conn, ...r }) => ({
          ...r,
          acked: !conn.outbox.has(r.reportId),
          open: conn.open,
        })),
      };
    case "close":
      closing = true;
      for (const c of conns) c.ws.terminate();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${message.cmd}`);
  }
}

async function connectAll({ url, agents, mode: how, app, inFlight, reconnectUrl: again }) {
  benchApp = app;
  mode = how;
  reconnectUrl = again;
  const start = clock();
  let next = 0;
  let failed = 0;
  let connected = 0;
  // A bounded number of handshakes in flight, like a fleet reconnecting, without overflowing the
  // listen backlog (which would measure SYN retries, not the hub).
  const worker = async () => {
    while (next < agents.length) {
      const index = next++;
      const agent = agents[index];
      /** @type {Conn} */
      const conn = {
        id: agent.id,
        token: agent.token,
        url,
        localAddress: SOURCE_ADDRESSES[(conns.length + index) % SOURCE_ADDRESSES.length],
        open: false,
        version: "1.0.0",
        outbox: new Map(),
      };
      try {
        await open(conn, url);
        conns.push(conn);
        connected++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { connectMs: clock() - start, connected, failed };
}

function open(conn, url) {
  return new Promise((resolve, reject) => {
    const headers = mode === "hub" ? { authorization: `Bearer ${conn.token}` } : {};
    const ws = new WebSocket(url, { headers, localAddress: conn.localAddress, perMessageDeflate: false });
    conn.ws = ws;
    ws.once("open", () => {
      conn.open = true;
      if (mode === "hub") {
        ws.send(
          JSON.stringify({
            type: "hello",
            v: 1,
            agentId: conn.id,
            hostname: conn.id,
            labels: { bench: "yes" },
            agentVersion: "bench",
            apps: [{ app: benchApp, version: conn.version, state: "succeeded" }],
          }),
        );
        // As the agent's outbox does: whatever was not acked goes again, under the same id.
        for (const { text } of conn.outbox.values()) ws.send(text);
      }
      resolve(conn);
    });
    ws.once("error", reject);
    ws.on("close", () => {
      const wasOpen = conn.open;
      conn.open = false;
      if (closing || !reconnectUrl || conn.ws !== ws) return;
      // The latest loss: one lost and back before the moment `await-back` asks about is no loss of it.
      if (wasOpen) conn.lostAt = clock();
      conn.backAt = undefined;
      setTimeout(() => reconnect(conn), 100 + Math.random() * RECONNECT_SPREAD_MS);
    });
    ws.on("message", (data) => receive(conn, JSON.parse(data.toString())));
  });
}

function reconnect(conn) {
  if (closing) return;
  open(conn, reconnectUrl).then(
    () => {
      reconnects++;
      conn.backAt = clock();
      onBack();
    },
    // A refused connect ends in "close" too, which schedules the next attempt.
    () => {},
  );
}

function receive(conn, message) {
  if (message.type === "deploy") {
    // A re-delivery after a reconnect is the same instruction: count the first arrival only.
    if (conn.deploy?.deploymentId === message.deploymentId) return;
    conn.deploy = {
      deploymentId: message.deploymentId,
      releaseId: message.release.id,
      version: message.release.version,
    };
    conn.deployAt = clock();
    arrivals.push(conn.deployAt);
    const ofUrl = arrivalsByUrl.get(conn.url) ?? [];
    ofUrl.push(conn.deployAt);
    arrivalsByUrl.set(conn.url, ofUrl);
    onArrival();
  } else if (message.type === "ack") {
    const sent = conn.outbox.get(message.reportId);
    if (!sent) return;
    conn.outbox.delete(message.reportId);
    stormUnacked.delete(message.reportId);
    acks++;
    lastAckAt = clock();
    ackMs.push(lastAckAt - sent.firstSentAt);
    onAck();
  }
}

function awaitDeploys({ count, timeoutMs }) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      onArrival = () => {};
      resolve({ arrivals, missing: count - arrivals.length, byUrl: Object.fromEntries(arrivalsByUrl) });
    };
    const timer = setTimeout(done, timeoutMs);
    onArrival = () => {
      if (arrivals.length >= count) done();
    };
    onArrival();
  });
}

/** Every agent that got a deploy reports success at once; resolves when the hub acked them all. */
function reportAll({ timeoutMs = 120_000 } = {}) {
  const reporting = conns.filter((c) => c.deploy && c.reported !== c.deploy.deploymentId);
  return new Promise((resolve) => {
    const finish = (timedOut) => {
      clearTimeout(timer);
      onAck = () => {};
      resolve({ sentAt, lastAckAt, acked: acks, ackMs, ...(timedOut ? { timedOut: true } : {}) });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    // Done when this storm's own reports are acked: an ack of an older report still in an outbox
    // (resent after a reconnect) counted towards it, and the storm "finished" with one of its own
    // still unacked.
    onAck = () => {
      if (stormUnacked.size === 0) finish(false);
    };
    const sentAt = clock();
    lastStorm = [];
    stormUnacked.clear();
    for (const c of reporting) {
      const d = c.deploy;
      const reportId = crypto.randomUUID();
      const text = JSON.stringify({
        type: "report",
        v: 1,
        reportId,
        deploymentId: d.deploymentId,
        app: benchApp,
        releaseId: d.releaseId,
        outcome: "succeeded",
        fromVersion: c.version,
        toVersion: d.version,
        steps: [{ name: "apply", ok: true, ms: 12 }],
      });
      c.outbox.set(reportId, { text, firstSentAt: clock() });
      lastStorm.push({ agentId: c.id, reportId, deploymentId: d.deploymentId, conn: c });
      stormUnacked.add(reportId);
      c.reported = d.deploymentId;
      c.version = d.version;
      sentReports++;
      // A closed connection keeps it in the outbox: the reconnect sends it.
      if (c.open) c.ws.send(text);
    }
    onAck();
  });
}

/** Resolves once every agent that lost its connection is connected again. */
function awaitBack({ timeoutMs, minLost = 1, since = 0 }) {
  return new Promise((resolve) => {
    const summary = () => {
      const lost = conns.filter((c) => c.lostAt !== undefined && c.lostAt >= since);
      const back = lost.filter((c) => c.open && c.backAt !== undefined);
      return {
        lost: lost.length,
        back: back.length,
        firstLostAt: Math.min(...lost.map((c) => c.lostAt)),
        lastBackAt: Math.max(0, ...back.map((c) => c.backAt)),
      };
    };
    const timer = setTimeout(() => {
      onBack = () => {};
      resolve({ ...summary(), timedOut: true });
    }, timeoutMs);
    onBack = () => {
      const now = summary();
      if (now.lost < minLost || now.back < now.lost) return;
      clearTimeout(timer);
      onBack = () => {};
      resolve(now);
    };
    onBack();
  });
}

function status() {
  return {
    open: conns.filter((c) => c.open).length,
    lost: conns.filter((c) => c.lostAt !== undefined).length,
    reconnects,
    outbox: conns.reduce((n, c) => n + c.outbox.size, 0),
    sentReports,
    ackedReports: acks,
  };
}

/** Every report still in an outbox (sent, never acked), with where its agent is connected now. */
function unacked() {
  return {
    reports: conns.flatMap((c) =>
      [...c.outbox.keys()].map((reportId) => ({
        agentId: c.id,
        reportId,
        deploymentId: c.deploy?.deploymentId,
        open: c.open,
        url: c.ws?.url,
        lostAt: c.lostAt,
        backAt: c.backAt,
      })),
    ),
  };
}

process.send({ cmd: "ready" });
