import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startTestHub, TestAgent, type TestHub } from "./support.js";

describe("a restarted hub", () => {
  let dir: string;
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("records agent.offline for every agent it marks offline at start", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-restart-"));
    const first = await startTestHub({}, dir);
    hubs.push(first);
    for (const id of ["r1", "r2"])
      (await TestAgent.connect(first.hub.url, await first.agentToken(id))).hello(id);
    await expect
      .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
      .toBe(2);
    // Stopping closes the store before the sockets' disconnects are written, as a crash would.
    await first.hub.close();
    const second = await startTestHub({}, dir);
    hubs.push(second);
    expect((await second.hub.store.listAgents()).map((a) => a.online)).toEqual([false, false]);
    const offline = (await second.hub.store.listEvents({ limit: 100 }))
      .filter((e) => e.kind === "agent.offline")
      .map((e) => ({ subject: e.subject, actor: e.actor }));
    expect(offline.sort((a, b) => a.subject.localeCompare(b.subject))).toEqual([
      { subject: "r1", actor: "hub" },
      { subject: "r2", actor: "hub" },
    ]);
  });
});
