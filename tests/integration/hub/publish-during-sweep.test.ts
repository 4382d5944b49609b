/**
 * The hourly sweep removes artifacts no release names a day after their last upload. A publish
 * checked that its artifact existed before its transaction, so a sweep between that check and the
 * insert removed the artifact of a release the hub then answered 201 for: every agent's download
 * of it failed (a review found 66 in 300 such publishes on PostgreSQL). The artifact is now
 * checked again inside the transaction, after the insert. Real hub, real PostgreSQL and SQLite,
 * the sweep made to run every millisecond with a keep time of 30 ms.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { hubBackends, startTestHub, type TestHub } from "./support.js";

const TRIES = 80;

let pg: PostgresServer | undefined;
let dir: string;
let hub: TestHub | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-publish-sweep-"));
  if (hasPostgres()) pg = await startPostgres();
}, 60_000);
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});
afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const backends = hubBackends(() => pg);

for (const backend of backends)
  describe.skipIf(!backend.available)(`a publish while unused artifacts are removed, ${backend.name}`, () => {
    it("never answers 201 for a release whose artifact is gone", { timeout: 120_000 }, async () => {
      hub = await startTestHub(
        { unusedArtifacts: { keepMs: 30, everyMs: 1 }, ...(await backend.options()) },
        join(dir, backend.name),
      );
      const t = hub;
      const request = async (method: string, path: string, body: Buffer | string, type: string) => {
        const res = await fetch(`${t.hub.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${t.ci}`, "content-type": type },
          body,
        });
        return { status: res.status, text: await res.text() };
      };
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < TRIES; i++) {
        const data = Buffer.from(`artifact ${i} ${"x".repeat(i)}`);
        const sha256 = createHash("sha256").update(data).digest("hex");
        const put = await request("PUT", "/api/v1/artifacts", data, "application/octet-stream");
        expect(put.status, put.text).toBeLessThan(300);
        // Publish around the keep time, so that some sweeps meet the publish.
        await new Promise((resolve) => setTimeout(resolve, (i % 9) * 5));
        const version = `1.0.${i}`;
        const manifest = `version: "${version}"\n`;
        const published = await request(
          "POST",
          "/api/v1/releases",
          JSON.stringify({ app: "web", version, manifest, source: { type: "hub", sha256 } }),
          "application/json",
        );
        if (published.status === 201) {
          // Named by a release now: no sweep may remove it.
          await new Promise((resolve) => setTimeout(resolve, 20));
          const artifact = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
            headers: { authorization: `Bearer ${t.ci}` },
          });
          const got = Buffer.from(await artifact.arrayBuffer());
          const key =
            artifact.status === 200 && got.equals(data)
              ? "201, artifact kept"
              : `201, artifact ${artifact.status}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        } else {
          // Removed before the publish: refused, saying so, and no release was made.
          expect(published.status, published.text).toBe(400);
          expect(published.text).toMatch(
            /body\.source\.sha256: no such artifact \(never uploaded, or removed unused/,
          );
          const found = await t.api<{ releases: unknown[] }>(
            "GET",
            `/api/v1/releases?app=web&version=${version}`,
            {
              token: t.operator,
            },
          );
          expect(found.body.releases).toEqual([]);
          outcomes["400, no release"] = (outcomes["400, no release"] ?? 0) + 1;
        }
      }
      expect(Object.keys(outcomes).filter((k) => !/^(201, artifact kept|400, no release)$/.test(k))).toEqual(
        [],
      );
      // Publishing still works: most publishes meet no sweep.
      expect(outcomes["201, artifact kept"] ?? 0).toBeGreaterThan(0);
    });
  });
