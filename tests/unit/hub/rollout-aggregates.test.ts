import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waveStats, waveStatsOfCounts } from "../../../hub/rollouts/accounting.js";
import { DeployEncoder } from "../../../hub/rollouts/deploy-encoder.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import type { DeploymentState, ReleaseRecord } from "../../../hub/store/store.js";
import { Deploy } from "../../../shared/protocol/messages.js";

let dir: string;
let store: SqliteStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-aggregates-"));
  store = new SqliteStore(join(dir, "hub.db"));
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const release: ReleaseRecord = {
  id: "r1",
  app: "web",
  version: "1.0.0",
  manifest: 'version: "1.0.0"\nfiles: { "a\\"b": { action: replace } }\n',
  source: { type: "git", commit: "abcdef1" },
  signature: "c2lnbmF0dXJl",
  created: 1,
  createdBy: "ci",
};

/** A rollout whose agent i is in wave i % 2, in states[i], last seen at time i. */
function seed(states: DeploymentState[]) {
  store.insertRelease(release);
  store.insertRollout({
    id: "ro",
    releaseId: "r1",
    spec: {
      release: "r1",
      waves: [{ name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 1 }],
      failureThreshold: { count: 1 },
      autoAdvance: false,
      autoRollback: false,
    },
    state: "running",
    currentWave: 0,
    waveStartedAt: 0,
    reason: null,
    failureAllowance: 0,
    created: 0,
    updated: 0,
  });
  for (const [i, state] of states.entries()) {
    const agentId = `a${i}`;
    store.upsertAgent({
      id: agentId,
      hostname: agentId,
      labels: {},
      agentVersion: "t",
      apps: [],
      online: false,
      lastSeen: i,
    });
    store.insertDeployment({
      id: `ro:${agentId}`,
      rolloutId: "ro",
      agentId,
      wave: i % 2,
      desiredRelease: "r1",
      previousRelease: null,
      state,
      // Every other one sent: the first success was sent, the second found on the release.
      attempts: i % 4 === 0 ? 1 : 0,
      updatedAt: 0,
      error: null,
    });
  }
}

describe("rollout aggregates in the store", () => {
  const states: DeploymentState[] = [
    "succeeded",
    "failed",
    "timed_out",
    "sent",
    "pending",
    "succeeded",
    "not_applicable",
  ];

  it("counts per wave and state equal the figures computed from every row", () => {
    seed(states);
    const counts = store.countDeploymentsOfRollout("ro");
    const rows = store.listDeployments({ rolloutId: "ro" });
    for (const include of [(w: number) => w === 0, (w: number) => w <= 1, (w: number) => w === 1])
      expect(waveStatsOfCounts(counts, include)).toEqual(waveStats(rows.filter((d) => include(d.wave))));
    expect(waveStatsOfCounts(counts, (w) => w <= 1)).toEqual({
      members: 6,
      finished: 4,
      succeeded: 2,
      failed: 2,
      // Its agent no longer takes the app: planned, but outside the wave's figures.
      notApplicable: 1,
      forgotten: 0,
      // Neither was sent the release before it was left out.
      forgottenSent: 0,
      notApplicableSent: 0,
      // a0 sent and succeeded; a5 succeeded unsent; a2 timed out; a1 failed unsent.
      tested: 1,
      alreadyOn: 1,
      unanswered: 1,
    });
    expect(store.countDeploymentsOfRollout("none")).toEqual([]);
  });

  it("lists only unfinished deployments of started waves whose agent was seen at or before the cut", () => {
    seed(states);
    const stale = (maxWave: number, seenBefore: number) =>
      store
        .listStaleDeployments({ rolloutId: "ro", maxWave, states: ["pending", "sent"], seenBefore })
        .map((d) => [d.agentId, d.state, d.agentLastSeen]);
    // a3 (sent, wave 1, seen 3), a4 (pending, wave 0, seen 4)
    expect(stale(1, 10)).toEqual([
      ["a4", "pending", 4],
      ["a3", "sent", 3],
    ]);
    expect(stale(0, 10)).toEqual([["a4", "pending", 4]]);
    expect(stale(1, 3)).toEqual([["a3", "sent", 3]]);
    expect(stale(1, 2)).toEqual([]);
  });
});

describe("DeployEncoder", () => {
  it("encodes exactly what JSON.stringify of the message gives, and the message is a valid Deploy", () => {
    for (const rollback of [false, true])
      for (const r of [release, { ...release, signature: null }]) {
        const encoder = new DeployEncoder(r, rollback);
        for (const id of ["ro:a1", 'odd "id" \\ ü']) {
          const message = encoder.message(id);
          expect(encoder.encode(id)).toBe(JSON.stringify(message));
          expect(Deploy.parse(JSON.parse(encoder.encode(id)))).toEqual(message);
          expect(message).toMatchObject({ deploymentId: id, rollback, release: { manifest: r.manifest } });
          expect("signature" in message.release).toBe(r.signature !== null);
        }
      }
  });
});
