/**
 * `GET /agents/:id` paged an agent's deployments by offset, newest `updatedAt` first. A deployment
 * that changes while the operator pages (the running rollout's deployment of this agent reports
 * in_progress, then succeeded) moves to the front, and every older one shifts by one: the row that
 * was first on the next page is on the page already read, and the operator paging to the end
 * never sees it. The rollout list (`?after=`) pages by a cursor for this reason; the commit that
 * added these pages says the deployments come "in one order on every page". They page now by a
 * cursor too (`deploymentsPage.next` as `?deployments_after=`), newest rollout first. Real hub (in
 * process) on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import { hubBackendsPerFile, hubPerTest, insertFinishedRollout, publishRelease } from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();

type AgentPage = {
  deployments: { id: string }[];
  deploymentsPage: { limit: number; more?: boolean; next?: string };
};

for (const backend of backends)
  describe.skipIf(!backend.available)(
    `${backend.name}: an agent's deployments paged while one changes`,
    () => {
      it("every deployment is read once when one of them is updated between two pages", async () => {
        const t = await session.start(await backend.options());
        const release = await publishRelease(t, "2.0.0");
        await session.connect(t, "a1");
        await expect.poll(async () => (await t.hub.store.getAgent("a1"))?.id, { timeout: 10_000 }).toBe("a1");
        const base = Date.now() - 1_000_000;
        const inserted: string[] = [];
        for (let i = 0; i < 6; i++) {
          const rolloutId = `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
          const at = base + i * 1000;
          await insertFinishedRollout(t, rolloutId, release, at);
          await t.hub.store.insertDeployment({
            id: `${rolloutId}:a1`,
            rolloutId,
            agentId: "a1",
            wave: 0,
            desiredRelease: release,
            previousRelease: null,
            state: "pending",
            attempts: 0,
            updatedAt: at,
            error: null,
          });
          inserted.push(`${rolloutId}:a1`);
        }
        const get = (after: string | undefined) =>
          t.api<AgentPage>(
            "GET",
            `/api/v1/agents/a1?deployments_limit=2${after === undefined ? "" : `&deployments_after=${encodeURIComponent(after)}`}`,
            { token: t.operator },
          );

        const seen: string[] = [];
        const first = await get(undefined);
        expect(first.status).toBe(200);
        seen.push(...first.body.deployments.map((d) => d.id));
        // The oldest deployment (on the last page) reports now: it is the newest.
        await t.hub.store.updateDeployments([
          { id: inserted[0] as string, state: "succeeded", error: null, updatedAt: Date.now() },
        ]);
        for (let next = first.body.deploymentsPage.next, n = 0; next !== undefined && n < 100; n++) {
          const page = await get(next);
          expect(page.status).toBe(200);
          seen.push(...page.body.deployments.map((d) => d.id));
          next = page.body.deploymentsPage.next;
        }
        // Each deployment the agent had when the operator began paging is read, and read once.
        expect(new Set(seen)).toEqual(new Set(inserted));
        expect(seen).toHaveLength(inserted.length);
      }, 60_000);
    },
  );
