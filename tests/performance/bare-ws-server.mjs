#!/usr/bin/env node
// Baseline for hub-bench.mjs: a bare `ws` WebSocketServer that accepts connections and does nothing
// else. Its RSS per idle connection is the floor any WebSocket hub on Node pays.
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => process.stdout.write(`bare ws listening on ${wss.address().port}\n`));
wss.on("connection", (ws) => ws.on("error", () => {}));
process.once("SIGTERM", () => process.exit(0));
