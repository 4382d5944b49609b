// A worker thread of insertRolloutRows (tests/integration/hub/support.ts): writes its rows into the
// hub's SQLite file off the test process's event loop, which the hub under test shares.
import { workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, releaseId, count, prefix, firstCreated } = workerData;
const db = new Database(file);
try {
  const insert = db.prepare(`INSERT INTO rollouts (id, release_id, spec, state, current_wave,
    wave_started_at, reason, failure_allowance, created, updated)
    VALUES (?, ?, ?, 'completed', 0, ?, NULL, 0, ?, ?)`);
  const spec = JSON.stringify({
    release: releaseId,
    waves: [{ name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 1 }],
    failureThreshold: { count: 1 },
    autoAdvance: true,
    autoRollback: false,
    seed: releaseId,
  });
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const at = firstCreated + i;
      insert.run(
        `${prefix}${i.toString(16).padStart(4, "0")}-0000-4000-8000-000000000000`,
        releaseId,
        spec,
        at,
        at,
        at,
      );
    }
  })();
} finally {
  db.close();
}
