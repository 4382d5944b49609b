/**
 * An agent token may download only artifacts of releases the hub sent its agent, which the hub
 * checks by reading the agent's deployments: for an agent with years of history, milliseconds of
 * the event loop per request. Each refused request cost that check, without bound: one agent
 * token (every host holds one) asking for hashes it was never sent, from a few loops, held the
 * hub's /healthz. Past 60 refusals a minute, a token's next requests are answered 429 before any
 * check. Real hub, real SQLite, real HTTP.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REFUSED_ARTIFACTS_PER_MINUTE } from "../../../hub/api/artifacts.js";
import { countCalls } from "../../support/count-calls.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

/** Two years of daily rollouts for `agentId`, written straight into the hub's database; the last one's artifact is `lastSha256`. */
function longHistory(agentId: string, lastSha256?: string): void {
  const db = new Database(join(t.dir, "hub.db"));
  try {
    db.pragma("foreign_keys = OFF");
    const release = db.prepare(`INSERT INTO releases (id, app, version, manifest, source, signature, created,
        created_by) VALUES (?, 'web', ?, 'version: "1"', ?, NULL, ?, 'ci')`);
    const deployment = db.prepare(`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release,
        previous_release, state, attempts, updated_at, error) VALUES (?, ?, ?, 0, ?, ?, 'succeeded', 1, ?, NULL)`);
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) {
        const sha256 = i === 1999 && lastSha256 ? lastSha256 : randomBytes(32).toString("hex");
        const source = JSON.stringify({ type: "hub", sha256 });
        release.run(`${agentId}-${i}`, `${agentId}.${i}`, source, i);
        deployment.run(
          `d-${agentId}-${i}`,
          `ro-${agentId}-${i}`,
          agentId,
          `${agentId}-${i}`,
          i ? `${agentId}-${i - 1}` : null,
          i,
        );
      }
    })();
  } finally {
    db.close();
  }
}

describe("artifact requests an agent token was refused", () => {
  it(`past ${MAX_REFUSED_ARTIFACTS_PER_MINUTE} a minute the token is answered 429 before any check; other tokens are not held back`, async () => {
    longHistory("prober");
    const token = await t.agentToken("prober");
    const get = (tok: string) =>
      fetch(`${t.hub.url}/api/v1/artifacts/${randomBytes(32).toString("hex")}`, {
        headers: { authorization: `Bearer ${tok}` },
      });
    const statuses: number[] = [];
    for (let i = 0; i < MAX_REFUSED_ARTIFACTS_PER_MINUTE + 40; i++) statuses.push((await get(token)).status);
    expect(statuses.slice(0, MAX_REFUSED_ARTIFACTS_PER_MINUTE)).toEqual(
      Array(MAX_REFUSED_ARTIFACTS_PER_MINUTE).fill(403),
    );
    expect(statuses.slice(MAX_REFUSED_ARTIFACTS_PER_MINUTE)).toEqual(Array(40).fill(429));
    const limited = await get(token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: string }).error).toBe(
      `this token was refused ${MAX_REFUSED_ARTIFACTS_PER_MINUTE} artifacts in the last minute (at most ${MAX_REFUSED_ARTIFACTS_PER_MINUTE}); it may download only artifacts of releases its agent was sent`,
    );
    // Another agent's token is checked as before.
    expect((await get(await t.agentToken("other"))).status).toBe(403);
  });

  it("an artifact it was sent is checked once, not on every request (a HEAD loop)", async () => {
    const upload = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}` },
      body: randomBytes(1024),
    });
    const { sha256 } = (await upload.json()) as { sha256: string };
    longHistory("looper", sha256);
    const token = await t.agentToken("looper");
    const head = () =>
      fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await head()).status).toBe(200);
    // Counted on the hub's real store, not timed: a busy CI machine slowed the timing's two sides
    // unevenly. Without the fix every HEAD read the agent's 2,000 deployments again.
    const reads = await countCalls(t.hub.store, "listDeployments", async () => {
      for (let i = 0; i < 40; i++) expect((await head()).status).toBe(200);
    });
    expect(reads).toBe(0);
  });
});
