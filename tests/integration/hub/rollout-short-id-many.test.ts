/**
 * A rollout named by a short id (the 8 characters `rollout list` and the dashboard show) was looked
 * up by reading the hub's newest 100,000 rollouts and filtering them in the hub: every such request
 * read them all, and a hub that kept more (years of them) answered 404 for an older one its id
 * named. The store reads the matches only now. Real hub (in process), its SQLite file filled
 * directly; the store's lookup on both stores is in the store contract suite.
 */
import { describe, expect, it } from "vitest";
import { hubPerTest, insertFinishedRollout, insertRolloutRows, publishRelease } from "./support.js";

const session = hubPerTest();
const OLDEST = "0a1d0000-0000-4000-8000-000000000001";
const MANY = 100_001;

describe("a short rollout id on a hub that kept more than 100,000 rollouts", () => {
  it("finds the oldest by its prefix, and an ambiguous prefix names ten of its matches", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await insertFinishedRollout(t, OLDEST, release, 1);
    await insertRolloutRows(t, release, MANY, "ffff", 1000);
    const found = await t.api<{ id?: string; error?: string }>("GET", "/api/v1/rollouts/0A1D0000", {
      token: t.operator,
    });
    expect({ status: found.status, id: found.body.id }).toEqual({ status: 200, id: OLDEST });
    const ambiguous = await t.api<{ error: string }>("GET", "/api/v1/rollouts/ffff", { token: t.operator });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error).toMatch(
      /^rollout id ffff is ambiguous: (ffff[0-9a-f-]+, ){9}ffff[0-9a-f-]+, and more$/,
    );
  }, 120_000);
});
