/**
 * The hub's ping check after the hub's own process stalled (a long synchronous step, GC, a loaded
 * machine) past the ping interval: the agent's pong had come in time, but the overdue timer ran
 * before the socket was read and terminated a healthy agent. The agent is a process of its own
 * (tests/support/late-pong-peer.mjs), so it answers while the hub is stalled.
 */
import { afterEach, expect, it } from "vitest";
import { type LatePongPeer, latePongPeer, stall } from "../../support/stalls.js";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub | undefined;
let peer: LatePongPeer | undefined;
afterEach(async () => {
  peer?.stop();
  await t?.stop();
});

it("keeps an agent whose pong arrived while the hub was stalled past the ping interval", async () => {
  t = await startTestHub({ pingIntervalMs: 1000 });
  let stalls = 0;
  peer = latePongPeer(["client", t.hub.url, await t.agentToken("a1"), "a1"], (line) => {
    // Stalled with the ping out and its pong 100 ms away, for several intervals.
    if (line !== "ping" || stalls >= 3) return;
    stalls++;
    stall(2500);
  });
  const hub = t;
  await expect.poll(async () => (await hub.hub.store.getAgent("a1"))?.online, { timeout: 15_000 }).toBe(true);
  await expect.poll(() => stalls, { timeout: 20_000 }).toBe(3);
  const answered = peer.pings();
  const running = peer;
  // Pinged on after the stalls, on the same connection.
  await expect.poll(() => running.pings(), { timeout: 15_000 }).toBeGreaterThan(answered + 2);
  expect(peer.lines).not.toContain("closed");
  expect((await hub.hub.store.getAgent("a1"))?.online).toBe(true);
});

it("takes a hello that arrived while the hub was stalled past the hello timeout", async () => {
  t = await startTestHub({ helloTimeoutMs: 1000 });
  peer = latePongPeer(["client", t.hub.url, await t.agentToken("a1"), "a1"], (line) => {
    // Connected, its hello 100 ms away: the hub stalls past its hello timeout.
    if (line === "open") stall(2500);
  });
  const hub = t;
  await expect.poll(async () => (await hub.hub.store.getAgent("a1"))?.online, { timeout: 15_000 }).toBe(true);
  expect(peer.lines).not.toContain("closed");
});
