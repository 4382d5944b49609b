// A WebSocket peer in a process of its own, so a stall of the test's process does not stall it:
// it answers every ping 100 ms late (in time for any interval a test uses), saying "ping" on stdout
// first (the test stalls its own process on that line, with the pong on its way), and "closed"
// when the connection ends. As a client it says "open" once connected and sends its hello 100 ms
// later.
//   node late-pong-peer.mjs client URL TOKEN AGENT_ID   an agent of the hub at URL (says hello)
//   node late-pong-peer.mjs server                      a hub; says "port N" once listening and
//                                                       answers each upgrade 100 ms late
//   node late-pong-peer.mjs reporter URL TOKEN AGENT_ID an agent running web 1.0.0 that says
//                                                       "deploy" on each update it is sent and
//                                                       reports it succeeded 100 ms later
import { randomUUID } from "node:crypto";
import { WebSocket, WebSocketServer } from "ws";

const say = (line) => process.stdout.write(`${line}\n`);

function answerLate(ws) {
  ws.on("ping", (data) => {
    say("ping");
    setTimeout(() => ws.pong(data), 100);
  });
  ws.on("close", () => say("closed"));
  ws.on("error", () => undefined);
}

const [mode, url, token, agentId] = process.argv.slice(2);
if (mode === "client") {
  const ws = new WebSocket(`${url}/api/v1/agent`, {
    headers: { authorization: `Bearer ${token}` },
    autoPong: false,
  });
  answerLate(ws);
  const hello = { type: "hello", v: 1, agentId, hostname: agentId, labels: {}, agentVersion: "t", apps: [] };
  ws.on("open", () => {
    say("open");
    setTimeout(() => ws.send(JSON.stringify(hello)), 100);
  });
  ws.on("close", () => process.exit(0));
} else if (mode === "reporter") {
  const ws = new WebSocket(`${url}/api/v1/agent`, { headers: { authorization: `Bearer ${token}` } });
  const apps = [{ app: "web", version: "1.0.0", state: "ok" }];
  ws.on("open", () => {
    ws.send(
      JSON.stringify({
        type: "hello",
        v: 1,
        agentId,
        hostname: agentId,
        labels: {},
        agentVersion: "t",
        apps,
      }),
    );
    say("open");
  });
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString());
    if (m.type !== "deploy" || m.rollback) return;
    say("deploy");
    const report = {
      type: "report",
      reportId: randomUUID(),
      deploymentId: m.deploymentId,
      app: "web",
      releaseId: m.release.id,
      installedReleaseId: m.release.id,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: m.release.version,
      steps: [{ name: "apply", ok: true, ms: 1 }],
    };
    setTimeout(() => ws.send(JSON.stringify(report)), 100);
  });
  ws.on("close", () => say("closed"));
  ws.on("error", () => undefined);
} else {
  // Each upgrade is answered 100 ms late, said as "upgrade" first.
  const verifyClient = (_info, accept) => {
    say("upgrade");
    setTimeout(() => accept(true), 100);
  };
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: false, verifyClient });
  wss.on("listening", () => say(`port ${wss.address().port}`));
  wss.on("connection", (ws) => answerLate(ws));
}
