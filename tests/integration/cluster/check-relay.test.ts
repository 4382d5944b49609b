/**
 * "Check now" reaches an agent whatever hub the operator asks: in a cluster an agent connected to
 * hub 0 was answered 409 "not connected" by hub 1 (the check went only over hub 1's own sockets),
 * so an operator behind a balancer saw a connected host as away. Two real `ship-hub serve`
 * processes on one real PostgreSQL; the agent a real WebSocket client on hub 0. And the list of
 * refused connections, kept per hub, says it is the answering hub's, not the fleet's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { isType, TestAgent } from "../hub/support.js";

const enabled = canRunCluster();

describe.skipIf(!enabled)("POST /agents/:id/check across hubs", () => {
  let cluster: Cluster;
  let agent: TestAgent;

  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 2, hub: { cluster_resync_seconds: 600 } });
    agent = await TestAgent.connect(
      cluster.hub(0).url,
      await cluster.tokenCreate("--role", "agent", "--agent", "far-1"),
    );
    agent.hello("far-1");
    await cluster.waitFor(
      "far-1 online",
      async () => (await cluster.api<{ online?: boolean }>(1, "GET", "/agents/far-1")).body.online === true,
    );
  }, 120_000);
  afterAll(async () => {
    agent?.ws.close();
    await cluster?.close();
  });

  it("asked on the hub that does not hold it, reaches the agent through the hub that does", async () => {
    const answer = await cluster.api(1, "POST", "/agents/far-1/check");
    // Relayed through the database, which nobody answers: not "sent", and said so.
    expect(answer).toEqual({
      status: 202,
      body: {
        sent: false,
        relayed: true,
        confirmed: false,
        message:
          "asked the hub holding far-1's connection to send the check; not confirmed (that hub may have lost the connection): the agent's next report or last seen shows whether it checked",
      },
    });
    await agent.next(isType("check_now"), 10_000);
    // The audit log says who asked, once.
    const events =
      await cluster.must()`SELECT data FROM events WHERE kind = 'agent.check_requested' AND subject = 'far-1'`;
    expect(events).toHaveLength(1);
    // The hub that sent it says so where the operator can look: the audit log.
    await expect
      .poll(async () =>
        (
          await cluster.must()`SELECT actor FROM events WHERE kind = 'agent.check_sent' AND subject = 'far-1'`
        ).map((e) => String(e.actor).startsWith("hub:")),
      )
      .toEqual([true]);
  });

  it("GET /agents/attention says its refusals are the answering hub's own", async () => {
    // A token the hubs refuse (signed with another secret), presented to hub 0 only.
    const forged = await TestAgent.connect(cluster.hub(0).url, "not-a-token").catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(Error);
    type Attention = { refused: { agentId: string }[]; refusedScope?: string };
    const on0 = await cluster.ok<Attention>(0, "GET", "/agents/attention");
    const on1 = await cluster.ok<Attention>(1, "GET", "/agents/attention");
    expect(on0.refused).toHaveLength(1);
    expect(on1.refused).toHaveLength(0);
    expect(on0.refusedScope).toBe("this hub");
    expect(on1.refusedScope).toBe("this hub");
  });

  it("an agent that left is still 409 not connected on every hub; an unknown id 404", async () => {
    agent.ws.close();
    await cluster.waitFor(
      "far-1 offline",
      async () => (await cluster.api<{ online?: boolean }>(1, "GET", "/agents/far-1")).body.online === false,
    );
    for (const hub of [0, 1]) {
      expect(await cluster.api(hub, "POST", "/agents/far-1/check")).toEqual({
        status: 409,
        body: { error: "agent far-1 is not connected" },
      });
      expect((await cluster.api(hub, "POST", "/agents/nobody-9/check")).status).toBe(404);
    }
  });
});
