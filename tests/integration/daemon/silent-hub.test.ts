/**
 * A hub address that takes the TCP connection and never answers the upgrade (a wedged hub or load
 * balancer, a proxy that never answers CONNECT): the agent waited on the opening handshake for
 * ever, with no line and no reconnect, since its ping watch starts only once the channel is open.
 * Real TCP server that accepts and stays silent, real WebSocket client.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { hubProxyAgent } from "../../../agent/daemon/hub-proxy-agent.js";
import { testHubConnection } from "../../support/test-hub-connection.js";
import { waitFor } from "../../support/wait-for.js";

describe("a hub that accepts the connection and never answers", () => {
  let connection: HubConnection | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    await connection?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
  });

  it("is given up on after the ping interval, said, and tried again", async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((ready) => server?.listen(0, "127.0.0.1", ready));
    const { port } = server.address() as { port: number };
    const lines: { level: string; msg: string }[] = [];
    connection = testHubConnection(`http://127.0.0.1:${port}`, lines, {
      pingIntervalMs: 500,
      reconnectBaseMs: 1,
      reconnectMaxMs: 5,
    });
    connection.start();
    await waitFor("a reconnect line", async () => lines.some((l) => l.msg.endsWith("; reconnecting")), {
      timeoutMs: 15_000,
      intervalMs: 20,
      where: "the agent's log",
    });
    expect(lines.find((l) => l.msg.endsWith("; reconnecting"))?.msg).toBe(
      "hub connection failed: no answer from the hub within 0.5 s of connecting (a hub, load balancer or proxy that takes the connection and says nothing); reconnecting",
    );
  });

  it("so is a proxy that takes the tunnel's CONNECT and never answers it", async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((ready) => server?.listen(0, "127.0.0.1", ready));
    const { port } = server.address() as { port: number };
    const hubUrl = "http://hub.corp.example:8080";
    const lines: { level: string; msg: string }[] = [];
    connection = testHubConnection(hubUrl, lines, {
      agent: hubProxyAgent(hubUrl, { http_proxy: `http://127.0.0.1:${port}` }),
      pingIntervalMs: 500,
      reconnectBaseMs: 1,
      reconnectMaxMs: 5,
    });
    connection.start();
    await waitFor("a reconnect line", async () => lines.some((l) => l.msg.endsWith("; reconnecting")), {
      timeoutMs: 15_000,
      intervalMs: 20,
      where: "the agent's log",
    });
    expect(lines.find((l) => l.msg.endsWith("; reconnecting"))?.msg).toMatch(
      /^hub connection failed: no answer from the hub within 0\.5 s of connecting/,
    );
  });
});
