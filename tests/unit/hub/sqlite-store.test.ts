import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../../../hub/store/migrations.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const release = {
  id: "r1",
  app: "web",
  version: "1.0.0",
  manifest: 'version: "1.0.0"\n',
  source: { type: "git" as const, commit: "abcdef1" },
  signature: null,
  created: 1,
  createdBy: "ci",
};

describe("SqliteStore", () => {
  it("migrates once, uses WAL and enforces foreign keys", () => {
    const file = join(dir, "hub.db");
    new SqliteStore(file).close();
    const store = new SqliteStore(file);
    store.close();
    const db = new Database(file);
    // Each migration recorded once, in order.
    expect(db.prepare("SELECT version FROM schema_version").all()).toEqual(
      migrations.map((_, i) => ({ version: i + 1 })),
    );
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    const again = new SqliteStore(file);
    expect(() =>
      again.insertDeployment({
        id: "d",
        rolloutId: "missing",
        agentId: "missing",
        wave: 0,
        desiredRelease: "missing",
        previousRelease: null,
        state: "pending",
        attempts: 0,
        updatedAt: 0,
        error: null,
      }),
    ).toThrow(/FOREIGN KEY/);
    again.close();
  });

  it("counts deployments by state from an index, not by reading every row (/metrics)", () => {
    const file = join(dir, "hub.db");
    new SqliteStore(file).close();
    const db = new Database(file);
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT state, COUNT(*) AS n FROM deployments GROUP BY state")
      .all() as { detail: string }[];
    db.close();
    expect(plan.map((p) => p.detail).join("; ")).toContain("USING COVERING INDEX deployments_state");
  });

  it("refuses a database written by a newer hub", () => {
    const file = join(dir, "hub.db");
    new SqliteStore(file).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_version (version) VALUES (99)").run();
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer than this hub/);
  });

  it("round-trips every record and stores a report id only once", () => {
    const store = new SqliteStore(join(dir, "hub.db"));
    store.insertToken({
      jti: "j",
      role: "ci",
      name: "ci",
      agentId: null,
      created: 1,
      expires: 2,
      revoked: null,
      renewedFrom: null,
    });
    expect(store.revokeToken("j", 5)).toEqual(["j"]);
    expect(store.revokeToken("j", 6)).toEqual([]);
    expect(store.getToken("j")?.revoked).toBe(5);
    store.insertRelease(release);
    expect(store.getRelease("r1")).toEqual(release);
    expect(store.findRelease("web", "1.0.0")?.id).toBe("r1");
    expect(() => store.insertRelease({ ...release, id: "r2" })).toThrow(/UNIQUE/);
    store.upsertAgent({
      id: "a1",
      hostname: "h",
      labels: { env: "prod" },
      agentVersion: "0.1",
      apps: [{ app: "web", version: "0.9", state: "ok" }],
      online: true,
      lastSeen: 3,
    });
    expect(store.countAgentsOnline()).toBe(1);
    store.markAllAgentsOffline();
    expect(store.getAgent("a1")?.online).toBe(false);
    expect(store.getAgent("a1")?.labels).toEqual({ env: "prod" });
    const spec = {
      release: "r1",
      waves: [{ name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 1 }],
      failureThreshold: { count: 1 },
      autoAdvance: false,
      autoRollback: false,
    };
    store.insertRollout({
      id: "ro",
      releaseId: "r1",
      spec,
      state: "running",
      currentWave: 0,
      waveStartedAt: 1,
      reason: null,
      failureAllowance: 0,
      created: 1,
      updated: 1,
    });
    store.updateRollout("ro", { state: "paused", reason: "why", updated: 2 });
    expect(store.getRollout("ro")).toMatchObject({ state: "paused", reason: "why", currentWave: 0, spec });
    const dep = {
      id: "ro:a1",
      rolloutId: "ro",
      agentId: "a1",
      wave: 0,
      desiredRelease: "r1",
      previousRelease: null,
      state: "pending" as const,
      attempts: 0,
      updatedAt: 1,
      error: null,
    };
    expect(store.insertDeployment(dep)).toBe(true);
    expect(store.insertDeployment({ ...dep, id: "other" })).toBe(false);
    store.updateDeployment("ro:a1", { state: "failed", error: "boom", updatedAt: 4 });
    expect(store.listDeployments({ agentId: "a1" })[0]).toMatchObject({ state: "failed", error: "boom" });
    expect(store.countDeploymentsByState()).toEqual({ failed: 1 });
    const report = {
      id: "rep",
      agentId: "a1",
      deploymentId: "ro:a1",
      payload: { outcome: "failed" },
      receivedAt: 5,
    };
    expect(store.insertReport(report)).toBe(true);
    expect(store.insertReport({ ...report, payload: { outcome: "succeeded" } })).toBe(false);
    expect(store.listReports("a1", 10)).toEqual([report]);
    store.transaction(() => {
      for (let i = 0; i < 5; i++)
        store.appendEvent({ at: i, actor: "t", kind: "k", subject: `s${i % 2}`, data: { i } });
    });
    const page1 = store.listEvents({ limit: 2 });
    expect(page1.map((e) => e.data)).toEqual([{ i: 4 }, { i: 3 }]);
    expect(store.listEvents({ limit: 10, before: page1[1]!.id }).map((e) => e.data)).toEqual([
      { i: 2 },
      { i: 1 },
      { i: 0 },
    ]);
    expect(store.listEvents({ limit: 10, subject: "s1" })).toHaveLength(2);
    store.close();
  });

  it("rolls a failed transaction back completely", () => {
    const store = new SqliteStore(join(dir, "hub.db"));
    expect(() =>
      store.transaction(() => {
        store.appendEvent({ at: 1, actor: "t", kind: "k", subject: "s", data: null });
        store.insertRelease(release);
        store.insertRelease(release);
      }),
    ).toThrow();
    expect(store.listEvents({ limit: 10 })).toEqual([]);
    expect(store.getRelease("r1")).toBeUndefined();
    store.close();
  });

  it("checkpoints the WAL on close", async () => {
    const file = join(dir, "hub.db");
    const store = new SqliteStore(file);
    store.insertRelease(release);
    store.close();
    const wal = await stat(`${file}-wal`).catch(() => undefined);
    expect(wal === undefined || wal.size === 0).toBe(true);
  });
});
