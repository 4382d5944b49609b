#!/usr/bin/env node
// Load generator for hub-bench.mjs, forked with an IPC channel: N real WebSocket connections that
// behave like ship agents (token at upgrade, hello, report after a deploy). Times are absolute
// (performance.timeOrigin + now) so the parent can compare them with its own clock.
//
// Commands (IPC {cmd, ...}, each answered with {cmd, ...}):
//   connect {url, agents: [{id, token}], mode: "hub"|"bare", app, inFlight}
//   await-deploys {count, timeoutMs}  → {arrivals: [ms...], missing}
//   report {}                         → {sentAt, lastAckAt, acked}
//   close {}
import WebSocket from "ws";

const SOURCE_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const clock = () => performance.timeOrigin + performance.now();

/** @type {{id: string, ws: WebSocket, deploy?: {deploymentId: string, releaseId: string, version: string}}[]} */
const conns = [];
let benchApp = "";
const arrivals = [];
let onArrival = () => {};
let acks = 0;
let lastAckAt = 0;
let onAck = () => {};

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
      return reportAll();
    case "close":
      for (const c of conns) c.ws.terminate();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${message.cmd}`);
  }
}

async function connectAll({ url, agents, mode, app, inFlight }) {
  benchApp = app;
  const start = clock();
  let next = 0;
  let failed = 0;
  // A bounded number of handshakes in flight, like a fleet reconnecting, without overflowing the
  // listen backlog (which would measure SYN retries, not the hub).
  const worker = async () => {
    while (next < agents.length) {
      const index = next++;
      const agent = agents[index];
      try {
        conns.push(
          await connectOne(url, agent, mode, app, SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length]),
        );
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { connectMs: clock() - start, connected: conns.length, failed };
}

function connectOne(url, agent, mode, app, localAddress) {
  return new Promise((resolve, reject) => {
    const headers = mode === "hub" ? { authorization: `Bearer ${agent.token}` } : {};
    const ws = new WebSocket(url, { headers, localAddress, perMessageDeflate: false });
    const conn = { id: agent.id, ws };
    ws.once("open", () => {
      if (mode === "hub")
        ws.send(
          JSON.stringify({
            type: "hello",
            v: 1,
            agentId: agent.id,
            hostname: agent.id,
            labels: { bench: "yes" },
            agentVersion: "bench",
            apps: [{ app, version: "1.0.0", state: "succeeded" }],
          }),
        );
      resolve(conn);
    });
    ws.once("error", reject);
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === "deploy") {
        conn.deploy = {
          deploymentId: message.deploymentId,
          releaseId: message.release.id,
          version: message.release.version,
        };
        arrivals.push(clock());
        onArrival();
      } else if (message.type === "ack") {
        acks++;
        lastAckAt = clock();
        onAck();
      }
    });
  });
}

function awaitDeploys({ count, timeoutMs }) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      onArrival = () => {};
      resolve({ arrivals, missing: count - arrivals.length });
    };
    const timer = setTimeout(done, timeoutMs);
    onArrival = () => {
      if (arrivals.length >= count) done();
    };
    onArrival();
  });
}

/** Every agent that got a deploy reports success at once; resolves when the hub acked them all. */
function reportAll() {
  const reporting = conns.filter((c) => c.deploy);
  acks = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ sentAt, lastAckAt, acked: acks, timedOut: true }), 120_000);
    onAck = () => {
      if (acks < reporting.length) return;
      clearTimeout(timer);
      resolve({ sentAt, lastAckAt, acked: acks });
    };
    const sentAt = clock();
    for (const c of reporting) {
      const d = c.deploy;
      c.ws.send(
        JSON.stringify({
          type: "report",
          v: 1,
          reportId: crypto.randomUUID(),
          deploymentId: d.deploymentId,
          app: benchApp,
          releaseId: d.releaseId,
          outcome: "succeeded",
          fromVersion: "1.0.0",
          toVersion: d.version,
          steps: [{ name: "apply", ok: true, ms: 12 }],
        }),
      );
    }
    onAck();
  });
}

process.send({ cmd: "ready" });
