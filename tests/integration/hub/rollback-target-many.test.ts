/**
 * A rollout of a release some hosts already run takes each one's rollback target from the earlier
 * rollout of that release that brought it there. The engine found those by reading the hub's
 * newest 100,000 rollouts on every such create and filtering them: on a hub that kept more, the
 * earlier rollout was past the cut, the host's previous release read as unknown, and abort
 * --rollback said "NOT rolled back … the hub has no release of the version it ran before" for a
 * host it could have sent back. The store reads that release's rollouts only now. Real hub (in
 * process) over a real WebSocket, its SQLite file filled directly.
 */
import { describe, expect, it } from "vitest";
import { deployOf, hubPerTest, insertRolloutRows, publishRelease, reportInstalled } from "./support.js";

const session = hubPerTest();
const MANY = 100_001;

describe("a rollback target on a hub that kept more than 100,000 rollouts", () => {
  it("is read from the earlier rollout of the release, however many rollouts came after it", async () => {
    const t = await session.start();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await session.connect(t, "a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);
    const create = async () => {
      const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: v2, waves: [{ name: "all", percent: 100 }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id;
    };
    const first = await create();
    await reportInstalled(a1, await a1.next(deployOf(first)), "succeeded", "1.0.0", v2);
    await expect
      .poll(
        async () =>
          (await t.api<{ state: string }>("GET", `/api/v1/rollouts/${first}`, { token: t.operator })).body
            .state,
      )
      .toBe("completed");

    // Years of another app's rollouts since, all newer than the first one.
    await insertRolloutRows(t, await publishRelease(t, "1.0.0", "api"), MANY, "eeee", Date.now());

    // 2.0.0 again (a1 runs it already), then taken back: a1 goes back to 1.0.0.
    const again = await create();
    const back = await t.api<{ reason: string; notRolledBack: string[] }>(
      "POST",
      `/api/v1/rollouts/${again}/abort`,
      { token: t.operator, body: { rollback: true } },
    );
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    // Before: "aborted; 1 agent(s) NOT rolled back (…the hub has no release of the version it ran before): a1".
    expect(back.body.notRolledBack).toEqual([]);
    expect(back.body.reason).toBe("aborted; rollback sent to 1 agent(s)");
    expect(await a1.next(deployOf(again))).toMatchObject({ rollback: true, release: { id: v1 } });
  }, 180_000);
});
