/**
 * One contract, two stores: every behaviour the hub relies on, checked against the embedded
 * SQLite store (through the async adapter) and a real PostgreSQL server. The concurrency cases
 * (late-committing events, one active rollout per app, row locks, retried deadlocks) are written
 * so both stores must give the same observable answer while PostgreSQL really runs them at once.
 */
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROLLBACK_TAKEN_OVER } from "../../../hub/rollouts/rollback-result.js";
import { ArtifactHashMismatch, ArtifactTooLarge } from "../../../hub/store/artifact-intake.js";
import { ActiveRolloutConflict, type AsyncStore } from "../../../hub/store/async-store.js";
import { MAX_APPS } from "../../../shared/protocol/messages.js";
import {
  agent,
  deployment,
  gate,
  type Opened,
  release,
  rollout,
  sleep,
  storeSubjects,
  TEST_CHUNK_BYTES,
} from "./store-contract/subjects.js";

const { subjects, start, stop } = storeSubjects();
beforeAll(start, 60_000);
afterAll(stop);

async function* pieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Buffer> | undefined): Promise<Buffer> {
  if (!stream) throw new Error("no stream");
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

/** A release, two agents and a running rollout r1 of app web: the ground most cases stand on. */
async function seed(store: AsyncStore): Promise<void> {
  await store.insertRelease(release("r1"));
  await store.upsertAgent(agent("a1"));
  await store.upsertAgent(agent("a2"));
  await store.insertRollout(rollout("ro1", "r1"));
}

/** 1,200 more agents (x0000…x1199): past one batch of ids (1,000), so chunking shows. Returns their ids. */
async function manyAgents(store: AsyncStore): Promise<string[]> {
  const many = Array.from({ length: 1200 }, (_, i) => `x${String(i).padStart(4, "0")}`);
  await store.tx(async (t) => {
    await Promise.all(many.map((id) => t.upsertAgent(agent(id))));
  });
  return many;
}

for (const subject of subjects) {
  describe.skipIf(!subject.available)(`store contract: ${subject.name}`, () => {
    let opened: Opened;
    let store: AsyncStore;
    beforeEach(async () => {
      opened = await subject.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    it("keeps tokens and revokes each once", async () => {
      const token = {
        jti: "j1",
        role: "ci" as const,
        name: "build",
        agentId: null,
        created: 5,
        expires: 9,
        revoked: null,
        renewedFrom: null,
      };
      await store.insertToken(token);
      await store.insertToken({ ...token, jti: "j2", role: "agent", agentId: "a1", created: 6 });
      expect(await store.getToken("j1")).toEqual(token);
      expect(await store.revokeToken("j1", 7)).toEqual(["j1"]);
      expect(await store.revokeToken("j1", 8)).toEqual([]);
      // Revoked and not yet expired (expires 9), whatever clock stamped the revocation.
      expect(await store.revokedTokensInForce(8)).toEqual(["j1"]);
      expect(await store.revokedTokensInForce(9)).toEqual([]);
      expect((await store.listTokens()).map((t) => [t.jti, t.revoked])).toEqual([
        ["j1", 7],
        ["j2", null],
      ]);
      expect(await store.getToken("missing")).toBeUndefined();
    });

    it("revokes a token with its renewals (which name it), from any of them, and nothing else", async () => {
      const agent = {
        jti: "issued",
        role: "agent" as const,
        name: "agent:a1",
        agentId: "a1",
        created: 1,
        expires: 99,
        revoked: null,
        renewedFrom: null,
      };
      await store.insertToken(agent);
      await store.insertToken({ ...agent, jti: "renewed-1", created: 2, renewedFrom: "issued" });
      await store.insertToken({ ...agent, jti: "renewed-2", created: 3, renewedFrom: "issued" });
      // A replacement the operator issued for the same agent is a family of its own.
      await store.insertToken({ ...agent, jti: "replacement", created: 4 });
      await store.insertToken({ ...agent, jti: "replacement-r", created: 5, renewedFrom: "replacement" });
      // What it revoked, by jti: `token revoke` names them all.
      expect(await store.revokeToken("issued", 10)).toEqual(["issued", "renewed-1", "renewed-2"]);
      expect((await store.revokedTokensInForce(10)).sort()).toEqual(["issued", "renewed-1", "renewed-2"]);
      expect(await store.revokeToken("renewed-1", 11)).toEqual([]);
      expect((await store.getToken("replacement"))?.revoked).toBeNull();
      // A renewal's jti (token list --json shows them) revokes its whole family too.
      expect(await store.revokeToken("replacement-r", 20)).toEqual(["replacement", "replacement-r"]);
      expect((await store.revokedTokensInForce(20)).sort()).toEqual([
        "issued",
        "renewed-1",
        "renewed-2",
        "replacement",
        "replacement-r",
      ]);
      expect(await store.revokeToken("missing", 30)).toEqual([]);
    });

    it("prunes expired renewals only: the issued tokens and renewals in force stay", async () => {
      const issued = {
        jti: "issued",
        role: "agent" as const,
        name: "agent:a1",
        agentId: "a1",
        created: 1,
        expires: 50,
        revoked: null,
        renewedFrom: null,
      };
      await store.insertToken(issued);
      await store.insertToken({ ...issued, jti: "old", created: 25, expires: 75, renewedFrom: "issued" });
      await store.insertToken({
        ...issued,
        jti: "gone",
        created: 30,
        expires: 80,
        revoked: 40,
        renewedFrom: "issued",
      });
      await store.insertToken({ ...issued, jti: "live", created: 60, expires: 110, renewedFrom: "issued" });
      await store.insertToken({ ...issued, jti: "ci", role: "ci", agentId: null, created: 2, expires: 60 });
      // A token's newest renewal, expired: what its (stopped) agent holds, valid again if `now` was a
      // clock that ran ahead. Kept until a newer renewal replaces it.
      await store.insertToken({ ...issued, jti: "other", agentId: "a2", created: 3, expires: 40 });
      await store.insertToken({
        ...issued,
        jti: "newest",
        agentId: "a2",
        created: 20,
        expires: 70,
        renewedFrom: "other",
      });
      expect(await store.pruneRenewedTokens(80)).toBe(2);
      expect((await store.listTokens()).map((t) => t.jti)).toEqual([
        "issued",
        "ci",
        "other",
        "newest",
        "live",
      ]);
      expect(await store.pruneRenewedTokens(80)).toBe(0);
    });

    it("reads a set of agents at once, skipping unknown ids", async () => {
      const many = await manyAgents(store);
      await store.upsertAgent(agent("a1", false));
      const ids = [...many, "a1", "missing", "a1"];
      const read = await store.getAgents(ids);
      expect(read.map((a) => a.id).sort()).toEqual([...many, "a1"].sort());
      expect(read.find((a) => a.id === "a1")).toMatchObject({ online: false, apps: agent("a1").apps });
      expect(await store.getAgents([])).toEqual([]);
    });

    it("keeps releases, unique per app and version, newest first", async () => {
      await store.insertRelease(release("r1"));
      await store.insertRelease({ ...release("r2"), created: 2 });
      await store.insertRelease({ ...release("r3", "api"), created: 3 });
      await expect(store.insertRelease({ ...release("r4"), version: "r1" })).rejects.toThrow();
      expect(await store.getRelease("r1")).toEqual(release("r1"));
      expect((await store.findRelease("web", "r2"))?.id).toBe("r2");
      expect((await store.listReleases({ limit: 10 })).map((r) => r.id)).toEqual(["r3", "r2", "r1"]);
      expect((await store.listReleases({ app: "web", limit: 1 })).map((r) => r.id)).toEqual(["r2"]);
      // The next page after a release: equal times in id order, so a page boundary loses none.
      await store.insertRelease({ ...release("r0"), created: 2 });
      const after = (created: number, id: string) =>
        store.listReleases({ limit: 10, after: { created, id } });
      expect((await after(3, "r3")).map((r) => r.id)).toEqual(["r0", "r2", "r1"]);
      expect((await after(2, "r0")).map((r) => r.id)).toEqual(["r2", "r1"]);
      expect((await after(2, "r2")).map((r) => r.id)).toEqual(["r1"]);
    });

    it("keeps a release's manifest warnings as stored, and none for a release stored without", async () => {
      const warned = ["manifest:2:3 rollback.auto_rolback_on: unknown key", "manifest:4:1 x: ünïcode"];
      await store.insertRelease({ ...release("w1"), warnings: warned });
      await store.insertRelease({ ...release("w2"), created: 2, warnings: [] });
      await store.insertRelease({ ...release("w3"), created: 3 });
      expect((await store.getRelease("w1"))?.warnings).toEqual(warned);
      expect((await store.findRelease("web", "w2"))?.warnings).toEqual([]);
      expect(await store.getRelease("w3")).not.toHaveProperty("warnings");
      const listed = await store.listReleases({ limit: 10 });
      expect(listed.map((r) => [r.id, r.warnings])).toEqual([
        ["w3", undefined],
        ["w2", []],
        ["w1", warned],
      ]);
    });

    it("keeps agents, their presence and apps, listed in byte order", async () => {
      await store.upsertAgent(agent("b"));
      await store.upsertAgent(agent("B", false));
      await store.upsertAgent({ ...agent("a"), hostname: "first" });
      await store.upsertAgent({ ...agent("a"), hostname: "renamed" });
      expect((await store.listAgents()).map((a) => a.id)).toEqual(["B", "a", "b"]);
      expect(await store.getAgent("a")).toEqual({ ...agent("a"), hostname: "renamed" });
      expect(await store.countAgentsOnline()).toBe(2);
      await store.setAgentOnline("b", false, 500);
      expect(await store.getAgent("b")).toMatchObject({ online: false, lastSeen: 500 });
      await store.setAgentApps("a", [{ app: "api", version: null, state: "failed", releaseId: "x" }]);
      expect((await store.getAgent("a"))?.apps).toEqual([
        { app: "api", version: null, state: "failed", releaseId: "x" },
      ]);
      await store.markAllAgentsOffline();
      expect(await store.countAgentsOnline()).toBe(0);
    });

    it("applies app statuses in order, one set statement for a batch, as one by one would", async () => {
      await store.upsertAgent({ ...agent("s1"), apps: [{ app: "web", version: "1", state: "ok" }] });
      await store.upsertAgent({ ...agent("s2"), apps: [] });
      await store.setAppStatuses([
        { agentId: "s1", status: { app: "web", version: "2", state: "succeeded" } },
        { agentId: "s1", status: { app: "api", version: "1", state: "succeeded", releaseId: "r9" } },
        { agentId: "s2", status: { app: "web", version: "2", state: "succeeded" } },
        { agentId: "s1", status: { app: "web", version: "3", state: "rolled_back" } },
        { agentId: "nobody", status: { app: "web", version: "2", state: "succeeded" } },
      ]);
      expect((await store.getAgent("s1"))?.apps).toEqual([
        { app: "api", version: "1", state: "succeeded", releaseId: "r9" },
        { app: "web", version: "3", state: "rolled_back" },
      ]);
      expect((await store.getAgent("s2"))?.apps).toEqual([{ app: "web", version: "2", state: "succeeded" }]);
      expect(await store.getAgent("nobody")).toBeUndefined();
    });

    it("adds no app past MAX_APPS to an agent's record; one it has is still updated", async () => {
      const apps = Array.from({ length: MAX_APPS }, (_, i) => ({
        app: `app${i}`,
        version: "1",
        state: "ok",
      }));
      await store.upsertAgent({ ...agent("full"), apps });
      await store.setAppStatuses([
        { agentId: "full", status: { app: "one-more", version: "1", state: "succeeded" } },
        { agentId: "full", status: { app: "app0", version: "2", state: "succeeded" } },
      ]);
      const kept = (await store.getAgent("full"))?.apps ?? [];
      expect(kept).toHaveLength(MAX_APPS);
      expect(kept.find((a) => a.app === "one-more")).toBeUndefined();
      expect(kept.find((a) => a.app === "app0")).toEqual({ app: "app0", version: "2", state: "succeeded" });
    });

    it("keeps rollouts and patches only the given fields", async () => {
      await seed(store);
      expect(await store.getRollout("ro1")).toEqual(rollout("ro1", "r1"));
      await store.updateRollout("ro1", { state: "paused", reason: "halted", updated: 11 });
      await store.updateRollout("ro1", { currentWave: 1, waveStartedAt: 12, updated: 12 });
      expect(await store.getRollout("ro1")).toMatchObject({
        state: "paused",
        reason: "halted",
        currentWave: 1,
      });
      await store.updateRollout("ro1", { state: "running", reason: null, failureAllowance: 2, updated: 13 });
      expect(await store.getRollout("ro1")).toMatchObject({
        state: "running",
        reason: null,
        failureAllowance: 2,
      });
      await store.insertRelease(release("r2", "api"));
      await store.insertRollout({ ...rollout("ro2", "r2", "completed"), created: 20 });
      expect((await store.listRollouts({ limit: 10 })).map((r) => r.id)).toEqual(["ro2", "ro1"]);
      expect((await store.listRollouts({ states: ["running"], limit: 10 })).map((r) => r.id)).toEqual([
        "ro1",
      ]);
      expect(await store.listRollouts({ states: [], limit: 10 })).toEqual([]);
      // By app, before the limit (`rollout list --app`: its `more` counts that app's only).
      expect((await store.listRollouts({ app: "api", limit: 1 })).map((r) => r.id)).toEqual(["ro2"]);
      expect((await store.listRollouts({ app: "web", limit: 1 })).map((r) => r.id)).toEqual(["ro1"]);
      expect(await store.listRollouts({ app: "web", states: ["completed"], limit: 10 })).toEqual([]);
      expect(await store.listRollouts({ app: "nope", limit: 10 })).toEqual([]);
      expect(await store.countRolloutsByState()).toEqual({ running: 1, completed: 1 });
    });

    it("finds rollouts by a prefix of their id in either case, newest first, at most the limit", async () => {
      await store.insertRelease(release("r2", "api"));
      await store.insertRelease(release("r3", "db"));
      await store.insertRollout({ ...rollout("ab12-one", "r2", "completed"), created: 20 });
      await store.insertRollout({ ...rollout("AB12-two", "r3", "completed"), created: 30 });
      await store.insertRollout({ ...rollout("ab1%-odd", "r3", "aborted"), created: 40 });
      const ids = async (prefix: string, limit = 10) =>
        (await store.findRollouts(prefix, limit)).map((r) => r.id);
      expect(await ids("ab12")).toEqual(["AB12-two", "ab12-one"]);
      expect(await ids("AB12-O")).toEqual(["ab12-one"]);
      expect(await ids("ab12", 1)).toEqual(["AB12-two"]);
      // A LIKE wildcard in the prefix is a character like any other.
      expect(await ids("ab1%")).toEqual(["ab1%-odd"]);
      expect(await ids("ab1_")).toEqual([]);
      expect(await ids("zz")).toEqual([]);
    });

    it("holds one active rollout per app, also when a finished one is resumed", async () => {
      await seed(store);
      await expect(store.insertRollout(rollout("ro2", "r1"))).rejects.toBeInstanceOf(ActiveRolloutConflict);
      await expect(store.insertRollout(rollout("ro2", "r1", "paused"))).rejects.toThrow(/app web/);
      await store.insertRollout(rollout("done", "r1", "completed"));
      await store.insertRelease(release("r2", "api"));
      await store.insertRollout(rollout("other-app", "r2"));
      await expect(store.updateRollout("done", { state: "running", updated: 30 })).rejects.toBeInstanceOf(
        ActiveRolloutConflict,
      );
      await store.updateRollout("ro1", { state: "aborted", updated: 30 });
      await store.insertRollout(rollout("ro3", "r1"));
      expect((await store.listRollouts({ states: ["running"], limit: 10 })).map((r) => r.id).sort()).toEqual([
        "other-app",
        "ro3",
      ]);
    });

    it("lets only one of two concurrent transactions start a rollout of an app", async () => {
      await store.insertRelease(release("r1"));
      const first = gate();
      const inserted = gate();
      const a = store.tx(async (t) => {
        await t.insertRollout(rollout("ro-a", "r1"));
        inserted.open();
        await first.wait;
      });
      await inserted.wait;
      // PostgreSQL: b's check sees nothing (a has not committed) and its INSERT waits on the
      // unique index; SQLite: b waits for the connection. Either way b must lose.
      const b = store.tx((t) => t.insertRollout(rollout("ro-b", "r1")));
      // The handler is attached now: b may reject before `await a` returns, and a rejection with no
      // handler yet is reported as unhandled.
      const bLoses = expect(b).rejects.toBeInstanceOf(ActiveRolloutConflict);
      await sleep(150);
      first.open();
      await a;
      await bLoses;
      expect((await store.listRollouts({ limit: 10 })).map((r) => r.id)).toEqual(["ro-a"]);
    });

    it("makes a second locker of a rollout wait for the first to commit", async () => {
      await seed(store);
      const release1 = gate();
      const locked = gate();
      const first = store.tx(async (t) => {
        await t.lockRollout("ro1");
        locked.open();
        await release1.wait;
        await t.updateRollout("ro1", { currentWave: 1, updated: 50 });
      });
      await locked.wait;
      const second = store.tx(async (t) => (await t.lockRollout("ro1"))?.currentWave);
      await sleep(150);
      release1.open();
      await first;
      expect(await second).toBe(1);
    });

    it("makes timed-out deployments due again: only those still timed out, error cleared, once", async () => {
      await seed(store);
      await store.upsertAgent(agent("a3"));
      const rows = ["a1", "a2", "a3"].map((id) => deployment("ro1", id));
      expect(await store.insertDeployments(rows)).toBe(3);
      await store.updateDeployment("ro1:a1", {
        state: "timed_out",
        error: "agent offline for 61 s",
        updatedAt: 20,
      });
      await store.updateDeployment("ro1:a2", { state: "succeeded", error: null, updatedAt: 21 });
      const moved = await store.redeliverDeployments(["ro1:a1", "ro1:a2", "ro1:a3", "missing"], 30);
      expect(moved.map((d) => [d.id, d.state, d.error, d.updatedAt])).toEqual([
        ["ro1:a1", "pending", null, 30],
      ]);
      expect(await store.getDeployment("ro1:a1")).toMatchObject({
        state: "pending",
        error: null,
        attempts: 0,
      });
      expect((await store.getDeployment("ro1:a2"))?.state).toBe("succeeded");
      // Of two hubs retrying one row, the second moves nothing.
      expect(await store.redeliverDeployments(["ro1:a1"], 31)).toEqual([]);
    });

    it("keeps deployments: inserted once per agent, counted, marked sent in chunks", async () => {
      await seed(store);
      expect(await store.insertDeployment(deployment("ro1", "a1"))).toBe(true);
      expect(await store.insertDeployment({ ...deployment("ro1", "a1"), id: "other" })).toBe(false);
      // Past one batch (1000 rows) so chunking shows; upserts pipelined in one transaction.
      const many = Array.from({ length: 1100 }, (_, i) => `x${String(i).padStart(4, "0")}`);
      await store.tx(async (t) => {
        await Promise.all(many.map((id) => t.upsertAgent(agent(id))));
      });
      const rows = [
        deployment("ro1", "a1"),
        deployment("ro1", "a2", 1),
        // A rollback acts on every one but the ten an earlier rollback already found it could not
        // send back (no previous release, said in their error) and the three it found a later
        // rollout of the app took over (their previous release is known, their error says why).
        ...many.map((id, i) => ({
          ...deployment("ro1", id),
          previousRelease: i < 10 ? "r0" : null,
          error:
            i >= 10 && i < 20
              ? "not rolled back: the hub has no release of the version it ran before"
              : i < 3
                ? "not rolled back: a later rollout of the app (ro2) took this agent over"
                : null,
        })),
      ];
      expect(await store.insertDeployments(rows)).toBe(rows.length - 1);
      await store.updateDeployment("ro1:x0000", { state: "sent", updatedAt: 21 });
      const sent = await store.markDeploymentsSent(
        [...many, "ro1:a2", "missing"].map((id) => (id.startsWith("x") ? `ro1:${id}` : id)),
        30,
      );
      expect(sent).toHaveLength(many.length);
      expect(sent.every((d) => d.state === "sent" && d.updatedAt === 30)).toBe(true);
      expect((await store.getDeployment("ro1:x0000"))?.attempts).toBe(0);
      expect((await store.getDeployment("ro1:x1099"))?.attempts).toBe(1);
      expect(await store.countDeploymentsOfRollout("ro1")).toEqual(
        expect.arrayContaining([
          // lastUpdated: the newest change of the group (a rollout's `updated` moves with it).
          // sent: of them, those ever handed to their agent (attempts > 0; x0000 was moved by hand).
          { wave: 0, state: "pending", count: 1, rollbackable: 1, sent: 0, restored: 0, lastUpdated: 20 },
          {
            wave: 0,
            state: "sent",
            count: many.length,
            rollbackable: many.length - 13,
            sent: many.length - 1,
            restored: 0,
            lastUpdated: 30,
          },
          { wave: 1, state: "sent", count: 1, rollbackable: 1, sent: 1, restored: 0, lastUpdated: 30 },
        ]),
      );
      expect(await store.countDeploymentsByState()).toEqual({ pending: 1, sent: many.length + 1 });
      const listed = await store.listDeployments({ rolloutId: "ro1" });
      expect(listed.slice(0, 2).map((d) => d.agentId)).toEqual(["a1", "x0000"]);
      expect(listed.at(-1)?.agentId).toBe("a2");
      expect((await store.listDeployments({ rolloutId: "ro1", agentId: "a2" })).map((d) => d.id)).toEqual([
        "ro1:a2",
      ]);
      expect((await store.getDeployments(["ro1:a1", "ro1:a2", "nope"])).map((d) => d.id).sort()).toEqual([
        "ro1:a1",
        "ro1:a2",
      ]);
      // Timed out before it was ever sent (no attempt): nothing a rollback could take back.
      await store.updateDeployment("ro1:a1", { state: "timed_out", updatedAt: 40 });
      await store.updateDeployment("ro1:a2", { state: "timed_out", updatedAt: 41 });
      expect(await store.countDeploymentsOfRollout("ro1")).toEqual(
        expect.arrayContaining([
          { wave: 0, state: "timed_out", count: 1, rollbackable: 0, sent: 0, restored: 0, lastUpdated: 40 },
          { wave: 1, state: "timed_out", count: 1, rollbackable: 1, sent: 1, restored: 0, lastUpdated: 41 },
        ]),
      );
      // Unanswered rollback instructions of any rollout, oldest first, through one state's index.
      await store.updateDeployment("ro1:x0003", { state: "rollback_pending", updatedAt: 45 });
      await store.updateDeployment("ro1:x0004", { state: "rollback_pending", updatedAt: 44 });
      await store.updateDeployment("ro1:x0005", { state: "rollback_pending", updatedAt: 60 });
      await store.updateDeployment("ro1:x0006", { state: "rollback_timed_out", updatedAt: 40 });
      expect(
        (await store.listDeploymentsStuckIn({ state: "rollback_pending", updatedBefore: 50, limit: 10 })).map(
          (d) => d.id,
        ),
      ).toEqual(["ro1:x0004", "ro1:x0003"]);
      expect(
        (await store.listDeploymentsStuckIn({ state: "rollback_pending", updatedBefore: 50, limit: 1 }))
          .length,
      ).toBe(1);
      // An unanswered rollback touched again (its instruction re-sent on a hello) waits from then.
      await store.updateDeployment("ro1:x0003", { updatedAt: 55 });
      expect(
        (await store.listDeploymentsStuckIn({ state: "rollback_pending", updatedBefore: 50, limit: 10 })).map(
          (d) => d.id,
        ),
      ).toEqual(["ro1:x0004"]);
      expect(await store.countDeploymentsByState()).toEqual({
        sent: many.length - 4,
        timed_out: 2,
        rollback_pending: 3,
        rollback_timed_out: 1,
      });
      // A failed update its host restored by itself (the error the hub writes for "rolled_back").
      await store.updateDeployment("ro1:x0000", {
        state: "failed",
        error: "rolled back: boom",
        updatedAt: 50,
      });
      await store.updateDeployment("ro1:x0001", {
        state: "failed",
        error: "restore failed: boom",
        updatedAt: 50,
      });
      await store.updateDeployment("ro1:x0002", { state: "cancelled", error: "cancelled: x", updatedAt: 50 });
      expect(await store.countDeploymentsOfRollout("ro1")).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ wave: 0, state: "failed", count: 2, restored: 1 }),
          expect.objectContaining({ wave: 0, state: "cancelled", count: 1, restored: 0 }),
        ]),
      );
    });

    it("refuses deployments naming a rollout, agent or release that does not exist, and keeps none of the batch", async () => {
      await seed(store);
      const good = deployment("ro1", "a1");
      for (const bad of [
        { ...deployment("nope", "a2"), id: "nope:a2" },
        deployment("ro1", "ghost"),
        { ...deployment("ro1", "a2"), desiredRelease: "missing" },
      ]) {
        await expect(store.insertDeployments([good, bad])).rejects.toThrow(/foreign key|does not exist/i);
        await expect(store.insertDeployment(bad)).rejects.toThrow(/foreign key|does not exist/i);
      }
      expect(await store.listDeployments({ rolloutId: "ro1" })).toEqual([]);
      expect(await store.insertDeployments([good, deployment("ro1", "a2")])).toBe(2);
    });

    it("applies deployment updates as a batch (the last one per id wins) and patches errors", async () => {
      await seed(store);
      await store.insertDeployments([deployment("ro1", "a1"), deployment("ro1", "a2")]);
      await store.updateDeployments([
        { id: "ro1:a1", state: "failed", error: "boom", updatedAt: 40 },
        { id: "ro1:a2", state: "succeeded", error: null, updatedAt: 40 },
        { id: "ro1:a1", state: "succeeded", error: null, updatedAt: 41 },
      ]);
      expect(await store.getDeployment("ro1:a1")).toMatchObject({
        state: "succeeded",
        error: null,
        updatedAt: 41,
      });
      await store.updateDeployment("ro1:a2", { error: "note", updatedAt: 42 });
      await store.updateDeployment("ro1:a2", { attempts: 3, updatedAt: 43 });
      expect(await store.getDeployment("ro1:a2")).toMatchObject({
        state: "succeeded",
        error: "note",
        attempts: 3,
      });
      expect((await store.listDeployments({ agentId: "a2" })).map((d) => d.id)).toEqual(["ro1:a2"]);
      // Warnings apart from the error: set by an update that names them, kept by one that does not.
      await store.updateDeployments([
        { id: "ro1:a1", state: "succeeded", error: null, warnings: ["w; 1", "w2"], updatedAt: 44 },
      ]);
      await store.updateDeployments([{ id: "ro1:a1", state: "succeeded", error: null, updatedAt: 45 }]);
      await store.updateDeployment("ro1:a1", { attempts: 2, updatedAt: 46 });
      expect(await store.getDeployment("ro1:a1")).toMatchObject({ error: null, warnings: ["w; 1", "w2"] });
      await store.updateDeployments([
        { id: "ro1:a1", state: "succeeded", error: null, warnings: [], updatedAt: 47 },
      ]);
      expect((await store.getDeployment("ro1:a1"))?.warnings).toBeUndefined();
    });

    it("counts a row an earlier rollback found taken over as rollbackable only once the take-over ended", async () => {
      // ro1 (r1) updated a1; ro2 (r2, created later) took it over; a rollback of ro1 marked it.
      for (const id of ["r0", "r1", "r2"]) await store.insertRelease(release(id));
      await store.insertRollout({ ...rollout("ro1", "r1", "aborted"), created: 10 });
      await store.insertRollout({ ...rollout("ro2", "r2", "completed"), created: 11 });
      const runs = (releaseId: string) =>
        store.upsertAgent({ ...agent("a1"), apps: [{ app: "web", version: "1", state: "ok", releaseId }] });
      await runs("r1");
      await store.insertDeployments([
        {
          ...deployment("ro1", "a1", 0, "sent"),
          state: "succeeded",
          attempts: 1,
          previousRelease: "r0",
          error: `${ROLLBACK_TAKEN_OVER} (ro2) took this agent over`,
        },
        { ...deployment("ro2", "a1", 0, "sent"), desiredRelease: "r2", attempts: 1 },
      ]);
      const rollbackable = async () =>
        (await store.countDeploymentsOfRollout("ro1")).reduce((n, c) => n + c.rollbackable, 0);
      // ro2's update of a1 under way: ro2 owns it, whatever a1 says it runs.
      expect(await rollbackable()).toBe(0);
      // ro2 is over: on ro2's release a1 stays taken over; back on ro1's, it is ro1's again.
      await store.updateDeployment("ro2:a1", { state: "succeeded", updatedAt: 30 });
      await runs("r2");
      expect(await rollbackable()).toBe(0);
      await store.updateDeployment("ro2:a1", { state: "rolled_back", updatedAt: 31 });
      await runs("r1");
      expect(await rollbackable()).toBe(1);
      // ro2's rollback of a1 still owed: under way, ro2 holds it.
      await store.updateDeployment("ro2:a1", { state: "rollback_pending", updatedAt: 32 });
      expect(await rollbackable()).toBe(0);
      // A rollout of another app holds nothing of web's.
      await store.insertRelease(release("api1", "api", "1"));
      await store.updateDeployment("ro2:a1", { state: "rolled_back", updatedAt: 33 });
      await store.insertRollout({ ...rollout("ro3", "api1", "running"), created: 12 });
      await store.insertDeployments([
        { ...deployment("ro3", "a1", 0, "sent"), desiredRelease: "api1", attempts: 1 },
      ]);
      expect(await rollbackable()).toBe(1);
    });

    it("counts a run that reported a result as started, once, however its start was counted", async () => {
      await seed(store);
      await store.insertDeployments([deployment("ro1", "a1"), deployment("ro1", "a2")]);
      // a1's start was never counted (its progress lost); a2's was, twice (a host restarted mid-update).
      await store.updateDeployment("ro1:a2", { started: 2, updatedAt: 40 });
      await store.updateDeployments([
        { id: "ro1:a1", state: "failed", error: "boom", ran: true, updatedAt: 41 },
        { id: "ro1:a2", state: "succeeded", error: null, ran: true, updatedAt: 41 },
      ]);
      expect(await store.getDeployment("ro1:a1")).toMatchObject({ state: "failed", started: 1 });
      expect(await store.getDeployment("ro1:a2")).toMatchObject({ state: "succeeded", started: 2 });
      // Reported again (a late resend of the result): still one run.
      await store.updateDeployments([
        { id: "ro1:a1", state: "succeeded", error: null, ran: true, updatedAt: 42 },
      ]);
      expect((await store.getDeployment("ro1:a1"))?.started).toBe(1);
      // A result that names no run (answered from the agent's record) counts none.
      await store.updateDeployments([{ id: "ro1:a2", state: "succeeded", error: null, updatedAt: 43 }]);
      expect((await store.getDeployment("ro1:a2"))?.started).toBe(2);
      // The single update takes `ran` alike.
      await store.updateDeployment("ro1:a2", { ran: true, updatedAt: 44 });
      expect((await store.getDeployment("ro1:a2"))?.started).toBe(2);
      await store.updateDeployment("ro1:a1", { started: 0, updatedAt: 45 });
      await store.updateDeployment("ro1:a1", { ran: true, updatedAt: 46 });
      expect((await store.getDeployment("ro1:a1"))?.started).toBe(1);
    });

    it("reads a rollout's deployments of the named agents only, in the states asked for", async () => {
      await seed(store);
      const many = await manyAgents(store);
      await store.insertRollout(rollout("ro2", "r1", "completed"));
      await store.insertDeployments([
        deployment("ro1", "a1"),
        deployment("ro1", "a2", 1, "sent"),
        deployment("ro2", "a1"),
        ...many.map((id) => deployment("ro1", id)),
      ]);
      const of = async (agentIds: string[], states: ("pending" | "sent")[]) =>
        (await store.listDeploymentsOfAgents({ rolloutId: "ro1", agentIds, states })).map((d) => d.id).sort();
      expect(await of(["a1", "a2", "nobody"], ["pending", "sent"])).toEqual(["ro1:a1", "ro1:a2"]);
      expect(await of(["a1", "a2"], ["sent"])).toEqual(["ro1:a2"]);
      expect(await of([], ["pending"])).toEqual([]);
      const mine = many.filter((_, i) => i % 2 === 0);
      expect(await of(mine, ["pending"])).toEqual(mine.map((id) => `ro1:${id}`));
      expect(
        await store.listDeploymentsOfAgents({ rolloutId: "ro1", agentIds: ["a1"], states: ["pending"] }),
      ).toEqual([deployment("ro1", "a1")]);
    });

    it("inserts deployments already sent with their deployment.sent events in the same call", async () => {
      await seed(store);
      await store.upsertAgent(agent("a3"));
      const many = Array.from({ length: 1100 }, (_, i) => `x${String(i).padStart(4, "0")}`);
      await store.tx(async (t) => {
        await Promise.all(many.map((id) => t.upsertAgent(agent(id))));
      });
      await store.insertDeployments([deployment("ro1", "a3")]);
      const sent = { at: 40, actor: "op", kind: "deployment.sent" };
      const rows = [
        { ...deployment("ro1", "a1", 0, "sent"), attempts: 1 },
        deployment("ro1", "a2"),
        // Already there: not inserted again, so not sent again either.
        { ...deployment("ro1", "a3", 0, "sent"), attempts: 1 },
        ...many.map((id) => ({ ...deployment("ro1", id, 0, "sent"), attempts: 1 })),
      ];
      // Pipelined in a transaction, as a rollout's creation does.
      expect(await store.tx((t) => t.insertDeployments(rows, sent))).toBe(rows.length - 1);
      const events = (await store.listEvents({ limit: 10_000 })).filter((e) => e.kind === "deployment.sent");
      expect(events.map((e) => e.subject).sort()).toEqual(["ro1:a1", ...many.map((id) => `ro1:${id}`)]);
      expect(events.find((e) => e.subject === "ro1:a1")).toMatchObject({
        at: 40,
        actor: "op",
        data: { agent: "a1" },
      });
      expect(await store.getDeployment("ro1:a3")).toMatchObject({ state: "pending", attempts: 0 });
    });

    it("stores a batch of deployments' text exactly as given, whatever characters it holds", async () => {
      // PostgreSQL reads a batch as one array literal per column: quotes, backslashes, braces,
      // commas, control characters, the word NULL and empty strings must come back as they went in,
      // and null as null, in a batch whose other values need no escaping at all.
      await seed(store);
      const odd = ['a"q', "a\\b", "a,{c}", "NULL", "ü-é 😀", " sp ", "tab\tnl\n"];
      for (const id of odd) await store.upsertAgent(agent(id));
      const texts = ['r"1', null, "NULL", "", "x\\y", "{}", "line\nbreak", "null"];
      const rows = [
        deployment("ro1", "a1"),
        ...odd.map((agentId, i) => ({
          ...deployment("ro1", agentId, i % 3, i % 2 === 0 ? "sent" : "pending"),
          previousRelease: texts[i % texts.length] ?? null,
          error: texts[(i + 3) % texts.length] ?? null,
          attempts: i,
          updatedAt: 2 ** 40 + i,
        })),
      ];
      const sent = { at: 40, actor: "op", kind: "deployment.sent" };
      expect(await store.tx((t) => t.insertDeployments(rows, sent))).toBe(rows.length);
      await store.insertDeployments([{ ...deployment("ro1", "a2"), previousRelease: "NULL", error: "" }]);
      for (const row of [...rows, { ...deployment("ro1", "a2"), previousRelease: "NULL", error: "" }]) {
        const { started: _, ...want } = row;
        expect(await store.getDeployment(row.id)).toMatchObject(want);
      }
    });

    it("marks sent, in one call, the due pending deployments of the named agents, with their events", async () => {
      await seed(store);
      await store.upsertAgent(agent("a3"));
      const many = await manyAgents(store);
      await store.insertRollout(rollout("ro2", "r1", "completed"));
      await store.insertDeployments([
        deployment("ro1", "a1"),
        deployment("ro1", "a2", 1),
        { ...deployment("ro1", "a3", 0, "sent"), attempts: 1 },
        deployment("ro2", "a1"),
        ...many.map((id) => deployment("ro1", id)),
      ]);
      const mark = (agentIds: string[], rolloutId = "ro1") =>
        store.markDueDeploymentsSent(
          { rolloutId, agentIds },
          { at: 77, actor: "hub", kind: "deployment.sent" },
        );
      const sentEvents = async () =>
        (await store.listEvents({ limit: 10_000 })).filter((e) => e.kind === "deployment.sent");
      // a2 is in wave 1 (ro1 is in wave 0), a3 already sent, "nobody" has no row, ro2 is not running.
      const marked = await mark(["a1", "a2", "a3", "nobody"]);
      expect(marked).toEqual([{ ...deployment("ro1", "a1"), state: "sent", attempts: 1, updatedAt: 77 }]);
      expect(await mark(["a1"], "ro2")).toEqual([]);
      expect(await store.getDeployment("ro2:a1")).toMatchObject({ state: "pending", attempts: 0 });
      expect(await store.getDeployment("ro1:a3")).toMatchObject({ state: "sent", attempts: 1 });
      expect(await sentEvents()).toEqual([
        expect.objectContaining({ at: 77, actor: "hub", subject: "ro1:a1", data: { agent: "a1" } }),
      ]);
      // Once only: a second call (another hub's, or a resync) gets nothing and records nothing.
      expect(await mark(["a1"])).toEqual([]);
      expect(await sentEvents()).toHaveLength(1);
      // The wave limit is the rollout's as stored: once it moves on, a2 is due.
      await store.updateRollout("ro1", { currentWave: 1, updated: 3 });
      expect((await mark(["a2"])).map((d) => d.id)).toEqual(["ro1:a2"]);
      // A paused rollout delivers nothing.
      await store.updateRollout("ro1", { state: "paused", updated: 4 });
      expect(await mark(many)).toEqual([]);
      await store.updateRollout("ro1", { state: "running", updated: 5 });
      // Past one chunk of ids (1000).
      const mine = many.filter((_, i) => i % 3 !== 0);
      expect((await mark(mine)).map((d) => d.id).sort()).toEqual(mine.map((id) => `ro1:${id}`));
      expect((await store.getDeployment(`ro1:${many[0]}`))?.state).toBe("pending");
      expect(await sentEvents()).toHaveLength(2 + mine.length);
      expect(await mark([])).toEqual([]);
    });

    it.skipIf(subject.name !== "postgres")(
      "finds a fresh rollout's rows by id without comparing every row with every id",
      async () => {
        // The moment a wave starts, its thousands of rows are not in the planner's statistics: with
        // `agent_id IN (SELECT …)` PostgreSQL then chose a nested loop comparing every row of the
        // rollout with every id (seconds per 1,000 ids); the by-id reads and marks must probe.
        await seed(store);
        await opened.admin?.unsafe("ANALYZE deployments");
        const ids = Array.from({ length: 6000 }, (_, i) => `y${String(i).padStart(4, "0")}`);
        await store.tx(async (t) => {
          await Promise.all(ids.map((id) => t.upsertAgent(agent(id))));
        });
        await store.insertDeployments(ids.map((id) => deployment("ro1", id)));
        const mine = ids.filter((_, i) => i % 2 === 0);
        const timed = async <T>(what: string, run: () => Promise<T[]>) => {
          const started = performance.now();
          const n = (await run()).length;
          return { what, n, fast: performance.now() - started < 1500 };
        };
        // With `IN (SELECT …)` the mark by agent ids took over 1.5 s here (the reads happened to get
        // a hash join); with `= ANY(ARRAY(…))` every one probes the index whatever the statistics.
        expect([
          await timed("listDeploymentsOfAgents", () =>
            store.listDeploymentsOfAgents({ rolloutId: "ro1", agentIds: mine, states: ["pending"] }),
          ),
          await timed("getDeployments", () => store.getDeployments(mine.map((id) => `ro1:${id}`))),
          await timed("markDueDeploymentsSent", () =>
            store.markDueDeploymentsSent(
              { rolloutId: "ro1", agentIds: mine.slice(0, 1500) },
              { at: 5, actor: "hub", kind: "deployment.sent" },
            ),
          ),
          await timed("markDeploymentsSent", () =>
            store.markDeploymentsSent(
              mine.slice(1500).map((id) => `ro1:${id}`),
              5,
            ),
          ),
        ]).toEqual(
          [
            ["listDeploymentsOfAgents", 3000],
            ["getDeployments", 3000],
            ["markDueDeploymentsSent", 1500],
            ["markDeploymentsSent", 1500],
          ].map(([what, n]) => ({ what, n, fast: true })),
        );
      },
      60_000,
    );

    it("lists the ids of the agents online on any hub", async () => {
      await store.upsertAgent(agent("a1"));
      await store.upsertAgent(agent("a2", false));
      await store.upsertAgent(agent("a3"));
      await store.claimAgent("a3", "hub-b", 5);
      expect((await store.listOnlineAgentIds()).sort()).toEqual(["a1", "a3"]);
    });

    it("finds deployments whose agent went silent", async () => {
      await seed(store);
      await store.upsertAgent({ ...agent("a3"), lastSeen: 900 });
      await store.insertDeployments([
        deployment("ro1", "a1"),
        deployment("ro1", "a2", 1),
        deployment("ro1", "a3"),
      ]);
      const stale = await store.listStaleDeployments({
        rolloutId: "ro1",
        maxWave: 0,
        states: ["pending", "sent"],
        seenBefore: 500,
      });
      expect(stale.map((d) => [d.id, d.agentLastSeen])).toEqual([["ro1:a1", 100]]);
    });

    it("finds deployments that made no progress since a time", async () => {
      await seed(store);
      await store.upsertAgent(agent("a3"));
      await store.insertDeployments([
        deployment("ro1", "a1", 0, "sent"),
        deployment("ro1", "a2", 1, "sent"),
        deployment("ro1", "a3", 0, "sent"),
      ]);
      await store.updateDeployment("ro1:a3", { state: "in_progress", updatedAt: 900 });
      const stalled = await store.listStalledDeployments({
        rolloutId: "ro1",
        maxWave: 0,
        states: ["sent", "in_progress"],
        updatedBefore: 500,
      });
      expect(stalled.map((d) => [d.id, d.state, d.updatedAt])).toEqual([["ro1:a1", "sent", 20]]);
    });

    it("stores each report once, also within one batch", async () => {
      const report = (id: string, at: number) => ({
        id,
        agentId: "a1",
        deploymentId: null,
        payload: { id, n: 1 },
        receivedAt: at,
      });
      expect(await store.lastReportReceivedAt()).toBeUndefined();
      expect(await store.insertReport(report("p1", 1))).toBe(true);
      expect(await store.insertReport(report("p1", 2))).toBe(false);
      expect(
        await store.insertReports([report("p1", 3), report("p2", 3), report("p3", 3), report("p2", 4)]),
      ).toEqual(["p2", "p3"]);
      expect((await store.listReports("a1", 2)).map((r) => r.id)).toEqual(["p3", "p2"]);
      expect((await store.listReports("a1", 10))[2]).toEqual(report("p1", 1));
      // Paged by the last report read: one that arrives meanwhile pushes nothing onto the next page.
      expect(await store.insertReports([report("p4", 5), { ...report("b1", 5), agentId: "b" }])).toEqual([
        "p4",
        "b1",
      ]);
      expect((await store.listReports("a1", 2, { before: "p3" })).map((r) => r.id)).toEqual(["p2", "p1"]);
      expect((await store.listReports("a1", 2, { offset: 2 })).map((r) => r.id)).toEqual(["p2", "p1"]);
      expect(await store.listReports("a1", 2, { before: "b1" })).toEqual([]);
      expect([await store.hasReport("a1", "p1"), await store.hasReport("a1", "b1")]).toEqual([true, false]);
      // The stamp of the report that arrived last (report_keep_days' anchor), not the latest stamp.
      expect(await store.insertReport(report("p6", 2))).toBe(true);
      expect(await store.lastReportReceivedAt()).toBe(2);
    });

    it("keeps events newest first, by subject and page", async () => {
      await store.appendEvent({ at: 1, actor: "hub", kind: "a", subject: "s1", data: { x: 1 } });
      await store.appendEvents([
        { at: 2, actor: "hub", kind: "b", subject: "s2", data: "text" },
        { at: 3, actor: "hub", kind: "c", subject: "s1", data: undefined },
      ]);
      const all = await store.listEvents({ limit: 10 });
      expect(all.map((e) => [e.kind, e.data])).toEqual([
        ["c", null],
        ["b", "text"],
        ["a", { x: 1 }],
      ]);
      expect((await store.listEvents({ subject: "s1", limit: 10 })).map((e) => e.kind)).toEqual(["c", "a"]);
      expect((await store.listEvents({ before: all[0]?.id, limit: 1 })).map((e) => e.kind)).toEqual(["b"]);
    });

    it("lists a subject's events with its parts' (`SUBJECT:…`) when asked, no other subject's, paged", async () => {
      const subjects = ["r1", "r1:a1", "r1x", "r1:a2", "r10:a1", "r%:a1", "r1", "r_:a1", "r1;a1"];
      await store.appendEvents(
        subjects.map((subject, i) => ({ at: i, actor: "hub", kind: `k${i}`, subject, data: {} })),
      );
      const kinds = async (filter: {
        subject: string;
        withParts?: boolean;
        before?: number;
        limit?: number;
      }) => (await store.listEvents({ limit: 10, ...filter })).map((e) => e.kind);
      expect(await kinds({ subject: "r1", withParts: true })).toEqual(["k6", "k3", "k1", "k0"]);
      expect(await kinds({ subject: "r1" })).toEqual(["k6", "k0"]);
      expect(await kinds({ subject: "r1", withParts: false })).toEqual(["k6", "k0"]);
      // Wildcards of LIKE in a subject are matched as written.
      expect(await kinds({ subject: "r%", withParts: true })).toEqual(["k5"]);
      expect(await kinds({ subject: "r_", withParts: true })).toEqual(["k7"]);
      const newest = (await store.listEvents({ subject: "r1", withParts: true, limit: 2 })).at(-1)?.id;
      expect(await kinds({ subject: "r1", withParts: true, before: newest, limit: 10 })).toEqual([
        "k1",
        "k0",
      ]);
    });

    it("streams each committed event once, oldest first, from a cursor", async () => {
      await store.appendEvent({ at: 1, actor: "hub", kind: "old", subject: "s", data: {} });
      const cursor = await store.latestEventCursor();
      await store.appendEvents(
        ["e1", "e2", "e3"].map((kind, i) => ({ at: i, actor: "hub", kind, subject: "s", data: {} })),
      );
      const first = await store.readEventsAfter(cursor, 2);
      const second = await store.readEventsAfter(first.cursor, 10);
      const third = await store.readEventsAfter(second.cursor, 10);
      expect([...first.events, ...second.events].map((e) => e.kind)).toEqual(["e1", "e2", "e3"]);
      expect(third).toEqual({ events: [], cursor: second.cursor });
    });

    it("does not skip an event whose transaction commits after a newer event's", async () => {
      const cursor = await store.latestEventCursor();
      const hold = gate();
      const appended = gate();
      // Transaction A takes the lower event id and commits last.
      const a = store.tx(async (t) => {
        await t.appendEvent({ at: 1, actor: "hub", kind: "early-id", subject: "s", data: {} });
        appended.open();
        await hold.wait;
      });
      await appended.wait;
      const b = store.tx((t) =>
        t.appendEvent({ at: 2, actor: "hub", kind: "late-id", subject: "s", data: {} }),
      );
      await Promise.race([b, sleep(300)]); // PostgreSQL: b commits now; SQLite: b waits for a
      const readWhileOpen = store.readEventsAfter(cursor, 10);
      await Promise.race([readWhileOpen, sleep(300)]);
      hold.open();
      await Promise.all([a, b]);
      const r1 = await readWhileOpen;
      const r2 = await store.readEventsAfter(r1.cursor, 10);
      expect([...r1.events, ...r2.events].map((e) => e.kind).sort()).toEqual(["early-id", "late-id"]);
    });

    it.skipIf(subject.name !== "postgres")(
      "streams events while another database on the server holds a transaction open",
      async () => {
        // Another application's database on the same server, its transaction holding a txid: it
        // can write no event of ours, so the stream must not wait for it to end.
        const other = postgres(await (opened.otherDatabase?.() ?? Promise.reject(new Error("no server"))), {
          max: 1,
          onnotice: () => {},
        });
        const open = gate();
        const held = gate();
        const otherTx = other.begin(async (t) => {
          await t`SELECT pg_current_xact_id()`;
          held.open();
          await open.wait;
        });
        try {
          await held.wait;
          const cursor = await store.latestEventCursor();
          await store.appendEvent({ at: 1, actor: "hub", kind: "while-other-open", subject: "s", data: {} });
          const read = await store.readEventsAfter(cursor, 10);
          expect(read.events.map((e) => e.kind)).toEqual(["while-other-open"]);
          // Read once: not again when the other transaction ends.
          open.open();
          await otherTx;
          expect((await store.readEventsAfter(read.cursor, 10)).events).toEqual([]);
        } finally {
          open.open();
          await otherTx.catch(() => {});
          await other.end();
        }
      },
    );

    it("reads page by page while a transaction with an older event commits in between, each event once", async () => {
      const cursor = await store.latestEventCursor();
      const hold = gate();
      const appended = gate();
      const a = store.tx(async (t) => {
        await t.appendEvent({ at: 0, actor: "hub", kind: "late", subject: "s", data: {} });
        appended.open();
        await hold.wait;
      });
      await appended.wait;
      const b = store.appendEvents(
        ["e1", "e2", "e3"].map((kind, i) => ({ at: i + 1, actor: "hub", kind, subject: "s", data: {} })),
      );
      await Promise.race([b, sleep(300)]); // PostgreSQL: b commits now; SQLite: b waits for a
      const pages: string[][] = [];
      let at = cursor;
      const readPage = async () => {
        const page = await store.readEventsAfter(at, 2);
        at = page.cursor;
        pages.push(page.events.map((e) => e.kind));
      };
      const first = readPage();
      await Promise.race([first, sleep(300)]); // SQLite: the read waits for a
      hold.open();
      await Promise.all([a, b, first]);
      for (let i = 0; i < 4; i++) await readPage();
      expect(pages.flat().sort()).toEqual(["e1", "e2", "e3", "late"]);
    });

    it("commits a transaction whole or not at all, and refuses the store inside one", async () => {
      await store.insertRelease(release("r1"));
      await expect(
        store.tx(async (t) => {
          await t.upsertAgent(agent("gone"));
          throw new Error("changed my mind");
        }),
      ).rejects.toThrow("changed my mind");
      expect(await store.getAgent("gone")).toBeUndefined();
      await expect(store.tx(async () => store.getAgent("a1"))).rejects.toThrow(/transaction handle/);
      let leaked: Parameters<Parameters<AsyncStore["tx"]>[0]>[0] | undefined;
      expect(
        await store.tx(async (t) => {
          leaked = t;
          await t.upsertAgent(agent("kept"));
          return "value";
        }),
      ).toBe("value");
      expect((await store.getAgent("kept"))?.id).toBe("kept");
      await expect(leaked?.getAgent("kept")).rejects.toThrow(/after its transaction ended/);
    });

    it("re-runs a transaction that failed on a serialization failure", async () => {
      let runs = 0;
      const value = await store.tx(async (t) => {
        runs++;
        await t.upsertAgent(agent(`try${runs}`));
        if (runs < 3) throw Object.assign(new Error("could not serialize access"), { code: "40001" });
        return runs;
      });
      expect(value).toBe(3);
      expect((await store.listAgents()).map((a) => a.id)).toEqual(["try3"]);
      let failures = 0;
      await expect(
        store.tx(async () => {
          failures++;
          throw Object.assign(new Error("duplicate"), { code: "23505" });
        }),
      ).rejects.toThrow("duplicate");
      expect(failures).toBe(1);
    });

    it("re-runs the loser of a real deadlock, so both transactions take effect once", async () => {
      await seed(store);
      await store.insertRelease(release("r2", "api"));
      await store.insertRollout(rollout("ro2", "r2"));
      const locked = { a: gate(), b: gate() };
      const runs = { a: 0, b: 0 };
      // Each locks one rollout, waits (briefly: on SQLite the other cannot start) for the other to
      // lock its own, then takes the second in the opposite order and bumps a counter on both.
      const crosswise = (me: "a" | "b", firstId: string, secondId: string, other: "a" | "b") =>
        store.tx(async (t) => {
          runs[me]++;
          await t.lockRollout(firstId);
          locked[me].open();
          await Promise.race([locked[other].wait, sleep(300)]);
          for (const id of [secondId, firstId]) {
            const r = await t.lockRollout(id);
            await t.updateRollout(id, { failureAllowance: (r?.failureAllowance ?? 0) + 1, updated: 60 });
          }
        });
      await Promise.all([crosswise("a", "ro1", "ro2", "b"), crosswise("b", "ro2", "ro1", "a")]);
      expect((await store.getRollout("ro1"))?.failureAllowance).toBe(2);
      expect((await store.getRollout("ro2"))?.failureAllowance).toBe(2);
      if (subject.name === "postgres") expect(runs.a + runs.b).toBeGreaterThan(2);
    });

    it("runs a periodic job once per interval, and again when its transaction rolled back", async () => {
      const claim = (now: number) => store.tx((t) => t.claimTick("engine", "hub-a", now, 1000));
      expect(await claim(5000)).toBe(true);
      expect(await claim(5999)).toBe(false);
      await expect(
        store.tx(async (t) => {
          expect(await t.claimTick("engine", "hub-b", 6000, 1000)).toBe(true);
          throw new Error("hub killed mid-tick");
        }),
      ).rejects.toThrow("mid-tick");
      expect(await claim(6000)).toBe(true);
      expect(await store.tx((t) => t.claimTick("other-job", "hub-a", 6000, 1000))).toBe(true);
    });

    it("runs a periodic job in every interval while each hub's timer fires a little late", async () => {
      // Two hubs try every 1.1 intervals (timers late under load), half a period apart.
      const attempts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
        .flatMap((k) => [
          { hub: "hub-a", at: k * 1100 },
          { hub: "hub-b", at: k * 1100 + 550 },
        ])
        .sort((x, y) => x.at - y.at);
      const claims: number[] = [];
      for (const { hub, at } of attempts)
        if (await store.tx((t) => t.claimTick("engine", hub, at, 1000))) claims.push(at);
      const intervals = Math.floor((claims.at(-1) ?? 0) / 1000);
      const perInterval = Array.from(
        { length: intervals },
        (_, k) => claims.filter((at) => at >= k * 1000 && at < (k + 1) * 1000).length,
      );
      expect(perInterval).toEqual(perInterval.map(() => 1));
      expect(perInterval.length).toBeGreaterThanOrEqual(20);
    });

    it("lets a second hub skip a tick another hub is running, without waiting for it", async () => {
      // The job's row exists after its first claim ever; only that first claim may wait for another.
      expect(await store.tx((t) => t.claimTick("engine", "hub-a", 0, 200))).toBe(true);
      const hold = gate();
      const claimed = gate();
      const a = store.tx(async (t) => {
        const mine = await t.claimTick("engine", "hub-a", 1000, 200);
        claimed.open();
        await hold.wait;
        return mine;
      });
      try {
        await claimed.wait;
        const b = store.tx((t) => t.claimTick("engine", "hub-b", 1000, 200));
        // PostgreSQL: SKIP LOCKED answers while a still holds the row (a is let go only after), so b
        // is awaited itself, not given a fixed second (within reach of a loaded machine); a b that
        // waited for a fails on the store's own answer deadline (15 s). SQLite: b queues behind a.
        if (subject.name === "postgres") expect(await b).toBe(false);
        hold.open();
        expect(await a).toBe(true);
        expect(await b).toBe(false);
      } finally {
        hold.open();
        await a.catch(() => {});
      }
    });

    it("registers a hello in one call: stored as announced, held by the hub with a new epoch, was it online", async () => {
      const first = await store.helloAgent({ ...agent("a1", false), lastSeen: 0 }, "hub-a", 1000);
      expect(first).toEqual({ epoch: 1, wasOnline: false });
      expect(await store.getAgent("a1")).toEqual({ ...agent("a1"), online: true, lastSeen: 1000 });
      // Again on hub B, with other labels and apps: updated, a newer epoch, and it was online.
      const again = await store.helloAgent(
        { ...agent("a1"), labels: { env: "dev" }, apps: [], hostname: "moved" },
        "hub-b",
        1100,
      );
      expect(again).toEqual({ epoch: 2, wasOnline: true });
      expect(await store.getAgent("a1")).toMatchObject({
        hostname: "moved",
        labels: { env: "dev" },
        apps: [],
      });
      // The epoch is the claim's: hub A's stale socket cannot release it, hub B's can.
      expect(await store.releaseAgent("a1", "hub-a", first.epoch, 1200)).toBe(false);
      expect(await store.releaseAgent("a1", "hub-b", again.epoch, 1300)).toBe(true);
      expect(await store.helloAgent(agent("a1"), "hub-a", 1400)).toEqual({ epoch: 3, wasOnline: false });
    });

    it("forgets an offline agent out of the fleet, keeps its deployments, and a hello brings it back", async () => {
      await seed(store);
      await store.upsertAgent(agent("a3", false));
      await store.insertDeployments([deployment("ro1", "a3")]);
      expect(await store.forgetAgent("a1", 500)).toBe("online");
      expect(await store.forgetAgent("nobody", 500)).toBe("unknown");
      expect(await store.tx((t) => t.forgetAgent("a3", 500))).toBe("forgotten");
      expect(await store.forgetAgent("a3", 600)).toBe("unknown");
      expect((await store.listAgents()).map((a) => a.id)).toEqual(["a1", "a2"]);
      expect(await store.getAgent("a3")).toMatchObject({ id: "a3", forgottenAt: 500 });
      expect((await store.listDeployments({ agentId: "a3" })).map((d) => d.id)).toEqual(["ro1:a3"]);
      await store.helloAgent(agent("a3"), "hub-a", 700);
      expect((await store.listAgents()).map((a) => a.id)).toEqual(["a1", "a2", "a3"]);
      expect(await store.getAgent("a3")).toEqual({ ...agent("a3"), lastSeen: 700 });
      await store.releaseAgent("a3", "hub-a", 1, 800);
      expect(await store.forgetAgent("a3", 900)).toBe("forgotten");
      // The embedded store's hello is an upsert: it brings the agent back the same way.
      await store.upsertAgent(agent("a3", false));
      expect((await store.listAgents()).map((a) => a.id)).toContain("a3");
    });

    it("marks an agent offline only from the hub and hello that hold it, and releases silent hubs' agents", async () => {
      await store.upsertAgent(agent("a1", false));
      await store.upsertAgent(agent("a2", false));
      await store.heartbeatHub("hub-a", 1000);
      await store.heartbeatHub("hub-b", 1000);
      const onA = await store.claimAgent("a1", "hub-a", 1000);
      // The agent reconnects to hub B before A noticed its socket closing.
      const onB = await store.claimAgent("a1", "hub-b", 1100);
      expect(onB).toBe((onA ?? 0) + 1);
      expect(await store.releaseAgent("a1", "hub-a", onA ?? 0, 1200)).toBe(false);
      expect((await store.getAgent("a1"))?.online).toBe(true);
      expect(await store.releaseAgent("a1", "hub-b", onB ?? 0, 1300)).toBe(true);
      expect(await store.getAgent("a1")).toMatchObject({ online: false, lastSeen: 1300 });
      expect(await store.claimAgent("missing", "hub-a", 1300)).toBeUndefined();

      await store.claimAgent("a1", "hub-a", 1400);
      await store.claimAgent("a2", "hub-b", 1400);
      await store.heartbeatHub("hub-a", 2000);
      await store.heartbeatHub("hub-b", 5000);
      expect(await store.releaseSilentHubs(4000)).toEqual(["a1"]);
      // Last seen when its silent hub last heartbeated, not at its hello (1400).
      expect((await store.getAgent("a1"))?.lastSeen).toBe(2000);
      expect((await store.listAgents()).map((a) => [a.id, a.online])).toEqual([
        ["a1", false],
        ["a2", true],
      ]);
      expect(await store.releaseSilentHubs(4000)).toEqual([]);
    });

    it("marks every agent offline at a lone hub's start, each last seen when its hub last heartbeated", async () => {
      for (const id of ["a1", "a2", "a3"]) await store.upsertAgent(agent(id, false));
      await store.heartbeatHub("killed", 1000);
      await store.claimAgent("a1", "killed", 500);
      // A hello after the hub's last heartbeat is the later sight of it.
      await store.claimAgent("a2", "killed", 1500);
      // A hub that never heartbeated (an older ship-hub) tells nothing more.
      await store.claimAgent("a3", "older", 700);
      await store.markAllAgentsOffline();
      expect((await store.listAgents()).map((a) => [a.id, a.online, a.lastSeen])).toEqual([
        ["a1", false, 1000],
        ["a2", false, 1500],
        ["a3", false, 700],
      ]);
      // The heartbeats went with that start: none is read a second time.
      await store.claimAgent("a1", "killed", 900);
      await store.markAllAgentsOffline();
      expect((await store.getAgent("a1"))?.lastSeen).toBe(900);
    });

    it("streams artifacts in and out in chunks, with byte ranges", async () => {
      const data = Buffer.from(
        Array.from({ length: 10 * TEST_CHUNK_BYTES + 123 }, (_, i) => (i * 7919) % 251),
      );
      const info = await store.writeArtifact(pieces(data, 700), { maxBytes: 1 << 20, created: 5 });
      const { createHash } = await import("node:crypto");
      const sha256 = createHash("sha256").update(data).digest("hex");
      expect(info).toEqual({ sha256, size: data.length, created: 5 });
      expect(await store.getArtifactInfo(sha256)).toEqual(info);
      expect((await collect(await store.readArtifact(sha256))).equals(data)).toBe(true);
      for (const [start, end] of [
        [0, 1],
        [TEST_CHUNK_BYTES - 1, TEST_CHUNK_BYTES + 1],
        [1500, 9000],
        [data.length - 5, data.length],
        [7, 7],
      ] as const)
        expect(
          (await collect(await store.readArtifact(sha256, { start, end }))).equals(data.subarray(start, end)),
        ).toBe(true);
      const again = await store.writeArtifact(pieces(data, 4096), {
        maxBytes: 1 << 20,
        created: 9,
        expectedSha256: sha256,
      });
      // The first copy is kept, as uploaded now: the time left to publish it counts from here.
      expect(again).toEqual({ ...info, created: 9 });
      expect(await store.readArtifact("0".repeat(64))).toBeUndefined();
    });

    it("keeps nothing of a refused artifact upload", async () => {
      const data = Buffer.alloc(5000, 1);
      await expect(
        store.writeArtifact(pieces(data, 1000), { maxBytes: 4500, created: 1 }),
      ).rejects.toBeInstanceOf(ArtifactTooLarge);
      await expect(
        store.writeArtifact(pieces(data, 1000), {
          maxBytes: 1 << 20,
          created: 1,
          expectedSha256: "f".repeat(64),
        }),
      ).rejects.toBeInstanceOf(ArtifactHashMismatch);
      const { createHash } = await import("node:crypto");
      expect(await store.getArtifactInfo(createHash("sha256").update(data).digest("hex"))).toBeUndefined();
      expect(await store.getArtifactInfo("f".repeat(64))).toBeUndefined();
    });
  });
}
