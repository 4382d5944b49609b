/**
 * A message nested past 64 levels from the hub (or whoever answers in its place) is dropped before
 * JSON.parse, which spends seconds on 4 MB of `[[[[…`: the agent's event loop stays free and the next
 * message is handled at once. A real WebSocket server on loopback plays the hub.
 */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { type HubConnection, MAX_HUB_MESSAGE_BYTES } from "../../../agent/daemon/hub-connection.js";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { testHubConnection } from "../../support/test-hub-connection.js";

let server: WebSocketServer | undefined;
let connection: HubConnection | undefined;
afterEach(async () => {
  await connection?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

describe("HubConnection: a deeply nested message from the hub", () => {
  it("is dropped unparsed with a warning, and the next message is handled at once", async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server?.once("listening", resolve));
    const port = (server.address() as AddressInfo).port;
    // 500 KB: under the most the agent takes from the hub (MAX_HUB_MESSAGE_BYTES).
    const depth = 250_000;
    server.on("connection", (ws) => {
      ws.send(`${"[".repeat(depth)}${"]".repeat(depth)}`);
      ws.send(JSON.stringify({ type: "check_now", v: 1 }));
    });
    const lines: { level: string; msg: string }[] = [];
    // CPU time of this process (the agent's connection and the server playing the hub): what
    // JSON.parse would spend, and not what a loaded machine's other processes take of the clock.
    const started = process.cpuUsage();
    const handled = new Promise<HubMessage>((resolve) => {
      connection = testHubConnection(`http://127.0.0.1:${port}`, lines, { onMessage: resolve });
      connection.start();
    });
    expect(await handled).toEqual({ type: "check_now", v: 1 });
    // All of it took ~0.22 s of CPU; JSON.parse of this message alone, 2.2 s (8 s by the clock on a
    // loaded machine).
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
    expect(lines.map((l) => l.msg)).toContain("hub sent a message nested deeper than 64 levels; ignored");
  });
});

describe("HubConnection: a message from the hub larger than the protocol needs", () => {
  it("is refused unread with an ERROR naming the bound, and the agent reconnects and goes on", async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server?.once("listening", resolve));
    const port = (server.address() as AddressInfo).port;
    let connections = 0;
    server.on("connection", (ws) => {
      connections += 1;
      // Past the most the agent takes (a manifest copy is capped at 64 KiB): the first connection only.
      const pad = connections === 1 ? { pad: "x".repeat(MAX_HUB_MESSAGE_BYTES) } : {};
      ws.send(JSON.stringify({ type: "check_now", v: 1, ...pad }));
    });
    const lines: { level: string; msg: string }[] = [];
    const handled = new Promise<HubMessage>((resolve) => {
      connection = testHubConnection(`http://127.0.0.1:${port}`, lines, { onMessage: resolve });
      connection.start();
    });
    expect(await handled).toEqual({ type: "check_now", v: 1 });
    expect(connections).toBe(2);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "error",
        msg: "hub connection failed: the hub sent a message larger than this agent takes (512 KiB, past what the protocol needs); refused unread; reconnecting",
      }),
    );
  });
});
