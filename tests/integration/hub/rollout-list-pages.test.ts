/**
 * `GET /rollouts` answered at most 1,000 rollouts with `more: true` and no way on: a hub that kept
 * more (a year of daily releases on a few apps) had rollouts no request and no `rollout list` could
 * reach. The list now pages as the release list does: `next`, passed back as `?after=`, reads on
 * to the end (rollouts created in the same millisecond included, once each), a bad cursor is a 400
 * naming `query.after`, and the CLI's note names the `--after` of the next page. Real hub (in
 * process) on SQLite and PostgreSQL, and the real CLI.
 */
import { describe, expect, it } from "vitest";
import {
  hubBackendsPerFile,
  hubPerTest,
  insertFinishedRollout,
  operatorCli,
  publishRelease,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();
const COUNT = 2_005;

/** `COUNT` aborted rollouts of `releaseId` straight into the store, three per millisecond. */
async function insertRollouts(t: TestHub, releaseId: string): Promise<string[]> {
  const ids: string[] = [];
  const base = Date.now() - 1_000_000;
  for (let i = 0; i < COUNT; i++) {
    const id = `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const at = base + Math.floor(i / 3);
    await insertFinishedRollout(t, id, releaseId, at, "aborted");
    ids.push(id);
  }
  return ids;
}

type Page = { rollouts: { id: string }[]; more?: boolean; next?: string };

for (const backend of backends)
  describe.skipIf(!backend.available)(`${backend.name}: the rollout list past 1,000`, () => {
    it("pages to its end through the API and the CLI; a bad cursor or limit is a 400 naming it", async () => {
      const t = await session.start(await backend.options());
      const inserted = await insertRollouts(t, await publishRelease(t, "2.0.0"));
      // Newest first; within a millisecond by id.
      const order = inserted
        .map((id, i) => ({ id, at: Math.floor(i / 3) }))
        .sort((a, b) => b.at - a.at || a.id.localeCompare(b.id))
        .map((r) => r.id);

      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const query = new URLSearchParams({ limit: "1000", ...(after === undefined ? {} : { after }) });
        const page = await t.api<Page>("GET", `/api/v1/rollouts?${query.toString()}`, { token: t.operator });
        expect(page.status, JSON.stringify(page.body).slice(0, 300)).toBe(200);
        seen.push(...page.body.rollouts.map((r) => r.id));
        if (page.body.more !== true) {
          expect(page.body.next).toBeUndefined();
          break;
        }
        expect(page.body.next).toEqual(expect.any(String));
        after = page.body.next;
      }
      // Newest first, each once: before, the first page (1,000 and `more`) was all there was.
      expect(seen).toEqual(order);

      for (const [query, field] of [
        ["after=nonsense", "query.after"],
        ["after=", "query.after"],
        ["limit=1001", "query.limit"],
        ["limit=0", "query.limit"],
        ["limit=ten", "query.limit"],
      ] as const) {
        const bad = await t.api("GET", `/api/v1/rollouts?${query}`, { token: t.operator });
        expect({ query, status: bad.status }).toEqual({ query, status: 400 });
        expect(bad.body.error).toContain(field);
      }

      // The CLI: the note on stderr names the next page's --after, which lists the older ones.
      const cliSeen: string[] = [];
      let args: string[] = [];
      for (let pages = 0; pages < 10; pages++) {
        const listed = await operatorCli(t, "rollout", "list", "--limit", "1000", "--json", ...args);
        expect(listed.code, listed.stderr).toBe(0);
        cliSeen.push(...(JSON.parse(listed.stdout) as { id: string }[]).map((r) => r.id));
        // With --json each stderr line is a JSON object: {"note": …}.
        const notes = listed.stderr
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => (JSON.parse(l) as { note: string }).note);
        const next = notes
          .map((n) => /^the next page: the same command with --after (\S+)$/.exec(n))
          .find(Boolean);
        if (!next) {
          expect(notes).toEqual([]);
          break;
        }
        args = ["--after", next[1] as string];
      }
      expect(cliSeen).toEqual(order);
      const bad = await operatorCli(t, "rollout", "list", "--after", "nonsense");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--after");
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    }, 180_000);
  });
