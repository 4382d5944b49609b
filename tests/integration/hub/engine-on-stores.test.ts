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
import type { AsyncStore, StoreOps } from "../../../hub/store/async-store.js";
import { MessageBatch } from "../../../hub/ws/message-batch.js";
import { RolloutSpec } from "../../../shared/api/bodies.js";
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

/** The agents connected to this "hub" (by default a1, a2, a3); what it sends is recorded. */
class Connected implements AgentChannel {
  sent: { agentId: string; message: HubMessage }[] = [];
  constructor(readonly ids: readonly string[] = ["a1", "a2", "a3"]) {}
  isOnline(agentId: string) {
    return this.ids.includes(agentId);
  }
  connectedAgentIds() {
    return [...this.ids];
  }
  send(agentId: string, message: HubMessage) {
    this.sent.push({ agentId, message });
    return true;
  }
}

/**
 * The store with every deployment row it hands back counted (inside transactions too): how many
 * rows a caller read or got back from a write; and the name of every call made of it, in order
 * (`tx`, then those made in it).
 */
function countingDeploymentRows(inner: AsyncStore): { store: AsyncStore; rows(): number; calls: string[] } {
  let rows = 0;
  const calls: string[] = [];
  const isDeployment = (x: unknown) =>
    typeof x === "object" && x !== null && "rolloutId" in x && "agentId" in x && "wave" in x;
  const count = (value: unknown) => {
    if (Array.isArray(value)) rows += value.filter(isDeployment).length;
    else if (isDeployment(value)) rows++;
    return value;
  };
  const wrap = <T extends object>(ops: T): T =>
    new Proxy(ops, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        calls.push(String(key));
        if (key === "tx")
          return (fn: (t: StoreOps) => Promise<unknown>) =>
            (value as AsyncStore["tx"]).call(target, (t) => fn(wrap(t)));
        return async (...args: unknown[]) => count(await value.apply(target, args));
      },
    });
  return { store: wrap(inner), rows: () => rows, calls };
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

    /** A hub's engine delivering to `channel`, on the store (or a counting wrapper of it). */
    const engineOn = (channel: AgentChannel, on: typeof store = store) =>
      new RolloutEngine({ store: on, channel, now: () => 1000, offlineTimeoutMs: 60_000 });

    it("two hubs delivering the same pending deployments at once send each exactly once", async () => {
      const channels = [new Connected(), new Connected()];
      const [one, two] = channels.map((c) => engineOn(c)) as [RolloutEngine, RolloutEngine];
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

    it("a hub delivering after a wake-up reads only its own agents' deployments, never the rollout's", async () => {
      // Hub A holds 30 agents, hub B holds one (a2); A starts a one-wave rollout of all of them.
      const theirs = Array.from({ length: 30 }, (_, i) => `x${String(i).padStart(2, "0")}`);
      await store.tx(async (t) => {
        for (const id of theirs) await t.upsertAgent(agent(id));
      });
      await store.insertRelease(release("r2"));
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      const onA = new Connected(["a1", "a3", ...theirs]);
      const onB = new Connected(["a2"]);
      const counted = countingDeploymentRows(store);
      const hubA = engineOn(onA);
      const hubB = engineOn(onB, counted.store);
      const created = await hubA.create(
        RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }] }),
        "op",
      );
      // The creating hub wrote its own agents' rows sent (with their events) and sent them; B's waits.
      expect(onA.sent.map((s) => s.agentId).sort()).toEqual([...onA.ids].sort());
      expect(await store.getDeployment(`${created.id}:a1`)).toMatchObject({ state: "sent", attempts: 1 });
      expect(await store.getDeployment(`${created.id}:a2`)).toMatchObject({ state: "pending", attempts: 0 });
      const sentEvents = (await store.listEvents({ limit: 1000 })).filter(
        (e) => e.kind === "deployment.sent" && e.subject.startsWith(created.id),
      );
      expect(sentEvents).toHaveLength(onA.ids.length);

      // The wake-up on B: it delivers a2's deployment, having read that row and no other.
      expect(await hubB.deliverPending(created.id)).toBe(1);
      expect(onB.sent.map((s) => s.agentId)).toEqual(["a2"]);
      expect(await store.getDeployment(`${created.id}:a2`)).toMatchObject({ state: "sent", attempts: 1 });
      // Only the row it marked sent comes back (marked in one statement, nothing read first): never
      // A's 32, nor the same row twice.
      expect(counted.rows()).toBe(1);
      // The resync and a second wake-up find nothing more, still without reading A's rows.
      expect(await hubB.deliverPending()).toBe(0);
      expect(await hubB.deliverPending(created.id)).toBe(0);
      expect(counted.rows()).toBe(1);
      expect(onB.sent).toHaveLength(1);
    });

    it("the wake-up of a cluster hub's own create delivers only what the create left pending for its agents", async () => {
      // Hub A holds a1; a3 connects to it just after the create inserted its row pending.
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      await store.insertRelease(release("r2"));
      const here = ["a1"];
      const onA = new Connected(here);
      const counted = countingDeploymentRows(store);
      const hubA = new RolloutEngine({
        store: counted.store,
        channel: onA,
        now: () => 1000,
        offlineTimeoutMs: 60_000,
        sharedPresence: true,
      });
      const spec = RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }] });
      const first = await hubA.create(spec, "op");
      expect(onA.sent.map((s) => s.agentId)).toEqual(["a1"]);
      here.push("a3");
      // Its own NOTIFY: the agents the create left pending (a2's hub, and a3's, deliver the rest).
      const echo = hubA.echoOf(first.id);
      expect([...(echo ?? [])].sort()).toEqual(["a2", "a3"]);
      const before = counted.calls.length;
      expect(await hubA.deliverPending(first.id, echo)).toBe(1);
      expect(onA.sent.map((s) => s.agentId)).toEqual(["a1", "a3"]);
      // One mark for the one agent and no read of the rollout (a create owes no rollback); the
      // release is read once per hub, as for any wake-up.
      expect(counted.calls.slice(before)).toEqual(["markDueDeploymentsSent", "getRelease"]);
      expect(await store.getDeployment(`${first.id}:a3`)).toMatchObject({ state: "sent", attempts: 1 });
      expect(await store.getDeployment(`${first.id}:a2`)).toMatchObject({ state: "pending", attempts: 0 });
      // Taken once: the next notification of that rollout is another commit's, delivered whole.
      expect(hubA.echoOf(first.id)).toBeUndefined();

      // A create that sent every due agent connected here: its echo asks the database nothing.
      await store.updateRollout(first.id, { state: "completed", updated: 3 });
      const second = await hubA.create(spec, "op");
      const echoed = hubA.echoOf(second.id);
      expect([...(echoed ?? [])]).toEqual(["a2"]);
      const quiet = counted.calls.length;
      expect(await hubA.deliverPending(second.id, echoed)).toBe(0);
      expect(counted.calls.slice(quiet)).toEqual([]);
      expect(
        onA.sent
          .filter((s) => s.message.type === "deploy" && s.message.deploymentId.startsWith(second.id))
          .map((s) => s.agentId)
          .sort(),
      ).toEqual(["a1", "a3"]);
    });

    it("a wake-up marks and sends in one statement, no transaction, and reads a release once per hub", async () => {
      // Hub A holds a1, hub B a2 and a3; A starts two rollouts of r2 one after the other.
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      await store.insertRelease(release("r2"));
      const onA = new Connected(["a1"]);
      const onB = new Connected(["a2", "a3"]);
      const counted = countingDeploymentRows(store);
      const hubA = engineOn(onA);
      const hubB = engineOn(onB, counted.store);
      const spec = RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }] });
      const first = await hubA.create(spec, "op");
      expect(await hubB.deliverPending(first.id)).toBe(2);
      await store.updateRollout(first.id, { state: "completed", updated: 3 });
      const second = await hubA.create(spec, "op");
      expect(await hubB.deliverPending(second.id)).toBe(2);
      // Each wake-up: the marks (which commit alone, their events with them) and a read of the
      // rollout alongside, for a rollback it may owe; no BEGIN/COMMIT round trips around them, and
      // the release, which never changes, read on the first only.
      expect(counted.calls).not.toContain("tx");
      expect(counted.calls.filter((c) => c === "getRelease")).toHaveLength(1);
      expect(counted.calls.filter((c) => c === "markDueDeploymentsSent")).toHaveLength(2);
      expect(onB.sent.map((s) => [s.agentId, s.message])).toEqual(
        [first.id, second.id].flatMap((id) =>
          ["a2", "a3"].map((agentId) => [
            agentId,
            expect.objectContaining({
              type: "deploy",
              deploymentId: `${id}:${agentId}`,
              release: expect.objectContaining({ id: "r2" }),
            }),
          ]),
        ),
      );
      for (const id of [first.id, second.id])
        for (const agentId of ["a2", "a3"])
          expect(await store.getDeployment(`${id}:${agentId}`)).toMatchObject({ state: "sent", attempts: 1 });
      const events = (await store.listEvents({ limit: 1000 })).filter(
        (e) => e.kind === "deployment.sent" && !e.subject.endsWith(":a1"),
      );
      expect(events.map((e) => e.subject).sort()).toEqual(
        [first.id, second.id].flatMap((id) => [`${id}:a2`, `${id}:a3`]).sort(),
      );
    });

    /**
     * Hub A (holding a1) starts a one-wave rollout of 600 more agents that hub B holds; B's
     * wake-up runs on a store that records, with B's sends, when each mark statement starts (and
     * fails the `failing`-th one, counted from 1: before it runs, or with `fault` "answer" after it
     * committed, as when its answer is lost; with "release", B's first read of a release fails).
     */
    async function wakeupOf600(failing?: number, fault: "statement" | "answer" | "release" = "statement") {
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      await store.insertRelease(release("r2"));
      const theirs = Array.from({ length: 600 }, (_, i) => `b${String(i).padStart(3, "0")}`);
      await store.tx(async (t) => {
        for (const id of theirs) await t.upsertAgent(agent(id));
      });
      const timeline: string[] = [];
      let inFlight = 0;
      let mostInFlight = 0;
      let releaseFailed = false;
      const marking = new Proxy(store, {
        get(target, key) {
          const value: unknown = Reflect.get(target, key);
          if (typeof value !== "function") return value;
          if (key === "getRelease" && fault === "release")
            return async (...args: Parameters<AsyncStore["getRelease"]>) => {
              if (!releaseFailed) {
                releaseFailed = true;
                throw new Error("terminating connection due to administrator command");
              }
              return store.getRelease(...args);
            };
          if (key !== "markDueDeploymentsSent") return value.bind(target);
          return async (...args: Parameters<AsyncStore["markDueDeploymentsSent"]>) => {
            timeline.push(`mark ${args[0].agentIds.length}`);
            mostInFlight = Math.max(mostInFlight, ++inFlight);
            try {
              const fails = timeline.filter((e) => e.startsWith("mark")).length === failing;
              if (fails && fault === "statement") throw new Error("deadlock detected");
              const marked = await store.markDueDeploymentsSent(...args);
              if (fails) throw new Error("connection ended before the answer");
              return marked;
            } finally {
              inFlight--;
            }
          };
        },
      });
      class Timed extends Connected {
        override send(agentId: string, message: HubMessage) {
          timeline.push("send");
          return super.send(agentId, message);
        }
      }
      const onB = new Timed(theirs);
      const created = await engineOn(new Connected(["a1"])).create(
        RolloutSpec.parse({ release: "r2", waves: [{ name: "all", percent: 100 }] }),
        "op",
      );
      return {
        theirs,
        onB,
        hubB: engineOn(onB, marking),
        rolloutId: created.id,
        timeline,
        mostInFlight: () => mostInFlight,
      };
    }

    it("a wake-up for hundreds of agents sends each chunk once its statement returned, two statements at a time", async () => {
      // Hub B's 600 rows used to be marked by statements all run at once, and none of its agents
      // was sent anything before the last returned: the other hubs' agents waited for all of B's
      // marking on top of the commit. Now the first are sent while the database marks the rest.
      const { theirs, onB, hubB, rolloutId, timeline, mostInFlight } = await wakeupOf600();
      expect(await hubB.deliverPending(rolloutId)).toBe(600);
      expect(onB.sent.map((s) => s.agentId).sort()).toEqual(theirs);
      for (const id of [theirs[0], theirs[599]])
        expect(await store.getDeployment(`${rolloutId}:${id}`)).toMatchObject({ state: "sent", attempts: 1 });
      const marks = timeline.filter((e) => e.startsWith("mark"));
      expect(marks.sort()).toEqual(["mark 100", "mark 250", "mark 250"]);
      expect(mostInFlight()).toBe(2);
      // The third statement starts only once a worker has sent its chunk: sends and marks overlap.
      const markAt = timeline.flatMap((e, i) => (e.startsWith("mark") ? [i] : []));
      expect(timeline.slice(0, markAt[2]).filter((e) => e === "send").length).toBeGreaterThanOrEqual(250);
    });

    it("a wake-up whose one statement fails still sends the other chunks, ends before it rejects, and its retry sends the rest", async () => {
      const { theirs, onB, hubB, rolloutId, timeline } = await wakeupOf600(2);
      await expect(hubB.deliverPending(rolloutId)).rejects.toThrow("deadlock detected");
      // Every chunk was tried and the two that were marked were sent before the delivery rejected:
      // the wake-up queue's retry does not run alongside a delivery still under way.
      expect(timeline.filter((e) => e.startsWith("mark"))).toHaveLength(3);
      const sent = onB.sent.map((s) => s.agentId);
      expect(sent).toHaveLength(350);
      const left = theirs.filter((id) => !sent.includes(id));
      expect(await store.getDeployment(`${rolloutId}:${left[0]}`)).toMatchObject({
        state: "pending",
        attempts: 0,
      });
      // The retry marks and sends exactly the failed chunk's rows, nothing twice.
      expect(await hubB.deliverPending(rolloutId)).toBe(250);
      expect(onB.sent.map((s) => s.agentId).sort()).toEqual(theirs);
    });

    it.each([
      ["the release read after it failed", undefined, "release", "administrator command"],
      ["its answer was lost", 2, "answer", "before the answer"],
    ] as const)(
      "a wake-up whose chunk was marked sent and then failed (%s) sends it on its retry, each once",
      async (_, failing, fault, said) => {
        // A pooled connection a database restart ended: the chunk's rows were committed `sent` and
        // handed to no socket, and the retry marks only `pending` rows, so they waited for the
        // resync's unanswered sends (10 s on), where the code said they stayed pending.
        const { theirs, onB, hubB, rolloutId } = await wakeupOf600(failing, fault);
        await expect(hubB.deliverPending(rolloutId)).rejects.toThrow(said);
        const first = onB.sent.map((s) => s.agentId);
        const left = theirs.filter((id) => !first.includes(id));
        expect(left).toHaveLength(250);
        expect(await store.getDeployment(`${rolloutId}:${left[0]}`)).toMatchObject({
          state: "sent",
          attempts: 1,
        });
        // The retry (the wake-up queue's, 0.25 s on) sends them, not again to the others.
        expect(await hubB.deliverPending(rolloutId)).toBe(250);
        expect(onB.sent.map((s) => s.agentId).sort()).toEqual(theirs);
        for (const id of [left[0], left[249]])
          expect(await store.getDeployment(`${rolloutId}:${id}`)).toMatchObject({
            state: "sent",
            attempts: 1,
          });
        // Nothing is owed any more.
        expect(await hubB.deliverPending(rolloutId)).toBe(0);
        expect(onB.sent).toHaveLength(600);
      },
    );

    it("a wake-up after an abort with rollback sends the other hub's agent its rollback instruction", async () => {
      // ro1 is done; ro2 took a1–a3 from r1 to r2. Hub A (a1, a3) aborts it with rollback.
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      await store.insertRelease(release("r2"));
      await store.insertRollout(rollout("ro2", "r2"));
      await store.insertDeployments(
        ["a1", "a2", "a3"].map((id) => ({
          ...deployment("ro2", id),
          desiredRelease: "r2",
          previousRelease: "r1",
          state: "succeeded" as const,
          attempts: 1,
        })),
      );
      const onA = new Connected(["a1", "a3"]);
      const onB = new Connected(["a2"]);
      const counted = countingDeploymentRows(store);
      const hubA = engineOn(onA);
      const hubB = engineOn(onB, counted.store);
      await hubA.abort("ro2", "op", true);
      expect(onA.sent.map((s) => s.agentId).sort()).toEqual(["a1", "a3"]);
      expect(onB.sent).toEqual([]);
      // B's wake-up for ro2 (aborted: rollback instructions may be outstanding) sends a2 its own.
      expect(await hubB.deliverPending("ro2")).toBe(1);
      expect(onB.sent).toHaveLength(1);
      expect(onB.sent[0]?.agentId).toBe("a2");
      expect(onB.sent[0]?.message).toMatchObject({
        type: "deploy",
        rollback: true,
        release: { id: "r1" },
      });
      expect(counted.rows()).toBe(1);
      expect(await store.getDeployment("ro2:a2")).toMatchObject({ state: "rollback_pending" });
      // The resync does not repeat rollbacks to every agent every few seconds.
      expect(await hubB.deliverPending()).toBe(0);
      expect(onB.sent).toHaveLength(1);
    });

    it("abort with rollback sends back a failed deployment whose host the release was left on, not one restored", async () => {
      // ro2 took a1–a3 from r1 to r2: a1 updated; a2's update failed and was left installed (its
      // stored status names r2); a3's failed and its host put r1 back.
      await store.updateRollout("ro1", { state: "completed", updated: 2 });
      await store.insertRelease(release("r2"));
      await store.insertRollout(rollout("ro2", "r2"));
      const states = { a1: "succeeded", a2: "failed", a3: "failed" } as const;
      await store.insertDeployments(
        (["a1", "a2", "a3"] as const).map((id) => ({
          ...deployment("ro2", id),
          desiredRelease: "r2",
          previousRelease: "r1",
          state: states[id],
          attempts: 1,
        })),
      );
      await store.upsertAgent({
        ...agent("a2"),
        apps: [{ app: "web", version: "2.0.0", state: "failed", releaseId: "r2" }],
      });
      await store.upsertAgent({
        ...agent("a3"),
        apps: [{ app: "web", version: "1.0.0", state: "failed_restored", releaseId: "r1" }],
      });
      const channel = new Connected();
      await engineOn(channel).abort("ro2", "op", true);
      expect(channel.sent.map((s) => s.agentId).sort()).toEqual(["a1", "a2"]);
      expect(await store.getDeployment("ro2:a2")).toMatchObject({ state: "rollback_pending" });
      expect(await store.getDeployment("ro2:a3")).toMatchObject({ state: "failed" });
    });

    it("a batch stores a report once however often it comes, applies it once and acks every copy", async () => {
      const sync = new AgentSync(engineOn(new Connected()));
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
      await expect.poll(() => acks.length, { timeout: 10_000 }).toBe(3);
      batch.report("a1", report(same, "a1"), () => acks.push("a1#3"));
      await expect.poll(() => acks.length, { timeout: 10_000 }).toBe(4);
      expect(acks.sort()).toEqual(["a1#1", "a1#2", "a1#3", "a2"]);
      expect(await store.listReports("a1", 10)).toHaveLength(1);
      expect(await store.listReports("a2", 10)).toHaveLength(1);
      expect((await store.getDeployment("ro1:a1"))?.state).toBe("succeeded");
      const applied = (await store.listEvents({ limit: 100 })).filter(
        (e) => e.kind === "deployment.succeeded",
      );
      expect(applied.map((e) => e.subject).sort()).toEqual(["ro1:a1", "ro1:a2"]);
      expect((await store.getAgent("a1"))?.apps).toEqual([
        { app: "web", version: "r1", state: "updated", releaseId: "r1" },
      ]);
      await batch.close();
    });
  });
}
