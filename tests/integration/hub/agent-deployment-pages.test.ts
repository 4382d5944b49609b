/**
 * `GET /agents/:id` answered the agent's newest 50 deployments and nothing else: an agent that had
 * taken part in more rollouts (a year of weekly releases) had deployments no request reached, and
 * the answer did not say it left any out. They page now as the rollout list does (`deployments_limit`,
 * `deploymentsPage.more` and `.next`, passed back as `deployments_after`), deployments updated in
 * the same millisecond in one order on every page; a bad value is a 400 naming the parameter. Real hub (in process) on
 * SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import { hubBackendsPerFile, hubPerTest, insertPastDeployments, publishRelease } from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();
const COUNT = 120;

type AgentPage = {
  deployments: { id: string }[];
  deploymentsPage: { limit: number; more?: boolean; next?: string };
};

for (const backend of backends)
  describe.skipIf(!backend.available)(`${backend.name}: an agent's deployments past 50`, () => {
    it("page to their end, each once; a bad page value is a 400 naming it", async () => {
      const t = await session.start(await backend.options());
      const release = await publishRelease(t, "2.0.0");
      await session.connect(t, "a1");
      // Its row is written by the hello's batch, after the registry has it online.
      await expect.poll(async () => (await t.hub.store.getAgent("a1"))?.id, { timeout: 10_000 }).toBe("a1");
      const inserted = await insertPastDeployments(t, "a1", release, COUNT, Date.now() - 1_000_000);
      const get = (query: string) =>
        t.api<AgentPage>("GET", `/api/v1/agents/a1?${query}`, { token: t.operator });

      // The default page is the newest 50, and now says older ones exist.
      const first = await get("");
      expect(first.status).toBe(200);
      expect(first.body.deployments).toHaveLength(50);
      expect(first.body.deploymentsPage).toEqual({ limit: 50, more: true, next: expect.any(String) });

      const seen: string[] = [];
      let after = "";
      for (let n = 0; n < 20; n++) {
        const page = await get(`deployments_limit=50${after}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.deployments.map((d) => d.id));
        const next = page.body.deploymentsPage.next;
        // `more` and `next` come together: one says older ones exist, the other reads them.
        expect(page.body.deploymentsPage.more).toBe(next === undefined ? undefined : true);
        if (next === undefined) break;
        after = `&deployments_after=${encodeURIComponent(next)}`;
      }
      expect(seen).toHaveLength(COUNT);
      expect(new Set(seen)).toEqual(new Set(inserted));

      for (const [query, field] of [
        ["deployments_limit=0", "query.deployments_limit"],
        ["deployments_limit=201", "query.deployments_limit"],
        ["deployments_after=x", "query.deployments_after"],
        ["deployments_after=12.", "query.deployments_after"],
        ["deployments_after=", "query.deployments_after"],
        // The offset it paged by before reads from the top again whatever it says: refused, named.
        ["deployments_offset=50", "query.deployments_offset"],
      ] as const) {
        const bad = await t.api("GET", `/api/v1/agents/a1?${query}`, { token: t.operator });
        expect({ query, status: bad.status }).toEqual({ query, status: 400 });
        expect(bad.body.error).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
      }
    }, 120_000);
  });
