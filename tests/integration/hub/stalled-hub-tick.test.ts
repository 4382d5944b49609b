/**
 * The rollout tick after the hub's own process stalled (a long synchronous step, GC, a loaded
 * machine) past an agent's progress timeout: the agent's report had come in time, but the overdue
 * tick timer ran before the socket was read (and before the read report was applied), called the
 * agent timed out and halted the rollout on a failure that never was. The agent is a process of
 * its own (tests/support/late-pong-peer.mjs, "reporter"), so it reports while the hub is stalled.
 */
import { afterEach, expect, it } from "vitest";
import { type LatePongPeer, latePongPeer, stall } from "../../support/stalls.js";
import { publishRelease, startTestHub, type TestHub } from "./support.js";

let t: TestHub | undefined;
let peer: LatePongPeer | undefined;
afterEach(async () => {
  peer?.stop();
  await t?.stop();
});

type View = { state: string; reason: string | null; counts: Record<string, number> };

it("reads a report that arrived while the hub was stalled past the progress timeout before judging it", async () => {
  // 3 s: an agent process that a loaded CI machine delays is not late, yet the stall outlasts it.
  t = await startTestHub({ progressTimeoutMs: 3000 });
  const hub = t;
  let stalled = false;
  peer = latePongPeer(["reporter", hub.hub.url, await hub.agentToken("a1"), "a1"], (line) => {
    // Sent the release, its report 100 ms away: the hub stalls past the progress timeout.
    if (line !== "deploy" || stalled) return;
    stalled = true;
    stall(4500);
  });
  await expect.poll(() => hub.hub.registry.isOnline("a1"), { timeout: 15_000 }).toBe(true);
  const created = await hub.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: hub.operator,
    body: {
      release: await publishRelease(hub, "2.0.0"),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id;
  const view = async () =>
    (await hub.api<View>("GET", `/api/v1/rollouts/${id}`, { token: hub.operator })).body;
  await expect.poll(view, { timeout: 15_000 }).toMatchObject({ state: "completed" });
  expect(stalled).toBe(true);
  const events = (
    await hub.api<{ events: { kind: string }[] }>("GET", `/api/v1/events?subject=${id}:a1`, {
      token: hub.operator,
    })
  ).body.events.map((e) => e.kind);
  expect(events).not.toContain("deployment.timed_out");
  expect((await view()).counts).toEqual({ succeeded: 1 });
});
