/**
 * The engine's hot paths on both stores (real SQLite, real PostgreSQL): two hubs delivering the
 * same pending deployment send it once (the one whose markDeploymentsSent returned the row), and a
 * batch of reports is stored set-based, dropping resends within the batch and across batches while
 * acking every copy after commit.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AgentSync } from "../../../hub/rollouts/agent-sync.js";
import type { AgentChannel } from "../../../hub/rollouts/dispatch.js";
import { RolloutEngine } from "../../../hub/rollouts/engine.js";
import type { AsyncStore } from "../../../hub/store/async-store.js";
import { MessageBatch } from "../../../hub/ws/message-batch.js";
import { memoryLogger } from "../../../shared/log.js";
import type { HubMessage, Report } from "../../../shared/protocol/messages.js";
import {
  agent,
  deployment,
  type Opened,
  release,
  rollout,
  storeSubjects,
} from "./store-contract/subjects.js";

/** Every agent counts as connected to this "hub"; what it sends is recorded. */
class AllOnline implements AgentChannel {
  sent: { agentId: string; message: HubMessage }[] = [];
  isOnline() {
    return true;
  }
  send(agentId: string, message: HubMessage) {
    this.sent.push({ agentId, message });
    return true;
  }
}

const { subjects, start, stop } = storeSubjects();
beforeAll(start, 60_000);
afterAll(stop);

for (const subject of subjects) {
  describe.skipIf(!subject.available)(`engine hot paths on ${subject.name}`, () => {
    let opened: Opened;
    let store: AsyncStore;
    beforeEach(async () => {
      opened = await subject.open();
      store = opened.store;
      await store.insertRelease(release("r1"));
      for (const id of ["a1", "a2", "a3"]) await store.upsertAgent(agent(id));
      await store.insertRollout(rollout("ro1", "r1"));
      await store.insertDeployments(["a1", "a2", "a3"].map((id) => deployment("ro1", id)));
    });
    afterEach(async () => {
      await opened.close();
    });

    const engineOn = (channel: AgentChannel) =>
      new RolloutEngine({ store, channel, now: () => 1000, offlineTimeoutMs: 60_000 });

    it("two hubs delivering the same pending deployments at once send each exactly once", async () => {
      const channels = [new AllOnline(), new AllOnline()];
      const [one, two] = channels.map(engineOn) as [RolloutEngine, RolloutEngine];
      const counts = await Promise.all([
        one.deliverPending("ro1"),
        two.deliverPending(),
        one.deliverPending(),
      ]);
      expect(counts.every((n) => n >= 0)).toBe(true);
      const sent = channels.flatMap((c) => c.sent.map((s) => s.agentId)).sort();
      expect(sent).toEqual(["a1", "a2", "a3"]);
      for (const id of ["a1", "a2", "a3"])
        expect(await store.getDeployment(`ro1:${id}`)).toMatchObject({ state: "sent", attempts: 1 });
      const events = (await store.listEvents({ limit: 100 })).filter((e) => e.kind === "deployment.sent");
      expect(events.map((e) => e.subject).sort()).toEqual(["ro1:a1", "ro1:a2", "ro1:a3"]);
      // Idempotent: nothing pending any more, nothing sent again.
      expect(await one.deliverPending()).toBe(0);
      expect(channels.flatMap((c) => c.sent)).toHaveLength(3);
    });

    it("a batch stores a report once however often it comes, applies it once and acks every copy", async () => {
      const sync = new AgentSync(engineOn(new AllOnline()));
      const batch = new MessageBatch(sync, memoryLogger([]));
      const report = (reportId: string, agentId: string): Report => ({
        type: "report",
        v: 1,
        reportId,
        deploymentId: `ro1:${agentId}`,
        app: "web",
        releaseId: "r1",
        outcome: "succeeded",
        fromVersion: "1.0.0",
        toVersion: "r1",
        steps: [],
      });
      const acks: string[] = [];
      const same = "00000000-0000-4000-8000-000000000001";
      batch.report("a1", report(same, "a1"), () => acks.push("a1#1"));
      batch.report("a1", report(same, "a1"), () => acks.push("a1#2"));
      // Another agent may use the same report id: scoped by agent, it is a different report.
      batch.report("a2", report(same, "a2"), () => acks.push("a2"));
      await expect.poll(() => acks.length).toBe(3);
      batch.report("a1", report(same, "a1"), () => acks.push("a1#3"));
      await expect.poll(() => acks.length).toBe(4);
      expect(acks.sort()).toEqual(["a1#1", "a1#2", "a1#3", "a2"]);
      expect(await store.listReports("a1", 10)).toHaveLength(1);
      expect(await store.listReports("a2", 10)).toHaveLength(1);
      expect((await store.getDeployment("ro1:a1"))?.state).toBe("succeeded");
      const applied = (await store.listEvents({ limit: 100 })).filter(
        (e) => e.kind === "deployment.succeeded",
      );
      expect(applied.map((e) => e.subject).sort()).toEqual(["ro1:a1", "ro1:a2"]);
      expect((await store.getAgent("a1"))?.apps).toEqual([
        { app: "web", version: "r1", state: "succeeded", releaseId: "r1" },
      ]);
      await batch.close();
    });
  });
}
