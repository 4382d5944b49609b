/**
 * The agent's ping check after the agent's own process stalled (a long synchronous step, GC, a
 * loaded host) past the ping interval: the hub's pong had come in time, but the overdue timer ran
 * before the socket was read, and the agent dropped a healthy hub ("hub stopped answering pings")
 * and reconnected. The hub end is a process of its own (tests/support/late-pong-peer.mjs), so it
 * answers while the agent is stalled.
 */
import { afterEach, expect, it } from "vitest";
import type { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { type LatePongPeer, latePongPeer, stall } from "../../support/stalls.js";
import { testHubConnection } from "../../support/test-hub-connection.js";

let connection: HubConnection | undefined;
let peer: LatePongPeer | undefined;
afterEach(async () => {
  await connection?.stop();
  peer?.stop();
});

it("keeps a hub whose pong arrived while the agent was stalled past the ping interval", async () => {
  let stalls = 0;
  peer = latePongPeer(["server"], (line) => {
    // Stalled with the ping out and its pong 100 ms away, for several intervals.
    if (line !== "ping" || stalls >= 3) return;
    stalls++;
    stall(2500);
  });
  const hub = peer;
  await expect
    .poll(() => hub.lines.find((line) => line.startsWith("port ")), { timeout: 15_000 })
    .toBeDefined();
  const port = hub.lines.find((line) => line.startsWith("port "))?.slice("port ".length);
  const lines: { level: string; msg: string }[] = [];
  connection = testHubConnection(`http://127.0.0.1:${port}`, lines, { pingIntervalMs: 1000 });
  connection.start();
  await expect.poll(() => stalls, { timeout: 20_000 }).toBe(3);
  const answered = hub.pings();
  // Pinged on after the stalls, on the same connection.
  await expect.poll(() => hub.pings(), { timeout: 15_000 }).toBeGreaterThan(answered + 2);
  expect(hub.lines).not.toContain("closed");
  expect(lines.map((line) => line.msg)).not.toContain("hub stopped answering pings; reconnecting");
});

it("takes the hub's answer to the upgrade that arrived while the agent was stalled past the handshake timeout", async () => {
  let stalled = false;
  peer = latePongPeer(["server"], (line) => {
    // The upgrade is in, its answer 100 ms away: the agent stalls past its handshake timeout once.
    if (line !== "upgrade" || stalled) return;
    stalled = true;
    stall(2500);
  });
  const hub = peer;
  await expect
    .poll(() => hub.lines.find((line) => line.startsWith("port ")), { timeout: 15_000 })
    .toBeDefined();
  const port = hub.lines.find((line) => line.startsWith("port "))?.slice("port ".length);
  const lines: { level: string; msg: string }[] = [];
  connection = testHubConnection(`http://127.0.0.1:${port}`, lines, { pingIntervalMs: 1000 });
  connection.start();
  await expect
    .poll(() => lines.some((line) => line.msg === "connected to hub"), { timeout: 15_000 })
    .toBe(true);
  expect(hub.lines.filter((line) => line === "upgrade")).toHaveLength(1);
  expect(lines.map((line) => line.msg).filter((msg) => msg.endsWith("; reconnecting"))).toEqual([]);
});
