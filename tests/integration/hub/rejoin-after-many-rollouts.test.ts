/**
 * An agent left out of a completed rollout (it had dropped the app: not applicable) that takes the
 * app again is sent that rollout's release, unless the app was rolled out again since. The hub
 * decided "since" by reading its newest 10,000 rollouts of every app: on a hub that kept more
 * rollouts of other apps after the later one, that later rollout went unseen and the agent was
 * sent the older release the fleet had left. The store reads the app's own rollouts now. Real hub
 * (in process) over a real WebSocket, its SQLite file filled directly.
 */
import { describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, insertFinishedRollout, insertRolloutRows, publishRelease } from "./support.js";

const session = hubPerTest();
const MANY = 10_001;
const R1 = "11111111-0000-4000-8000-000000000001";
const R2 = "22222222-0000-4000-8000-000000000002";

describe("an agent that takes the app again, on a hub that kept more than 10,000 rollouts", () => {
  it("is not sent an older release when the app was rolled out again since", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const v3 = await publishRelease(t, "3.0.0");
    const away = await session.connect(t, "a1", []);
    await expect.poll(async () => (await t.hub.store.getAgent("a1"))?.id, { timeout: 10_000 }).toBe("a1");
    away.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("a1"))?.online, { timeout: 10_000 })
      .toBe(false);

    // 2.0.0 completed with a1 left out (it had no app web then); 3.0.0 rolled out after it.
    const base = Date.now() - 1_000_000;
    await insertFinishedRollout(t, R1, v2, base);
    await t.hub.store.insertDeployment({
      id: `${R1}:a1`,
      rolloutId: R1,
      agentId: "a1",
      wave: 0,
      desiredRelease: v2,
      previousRelease: null,
      state: "not_applicable",
      attempts: 0,
      updatedAt: base,
      error: "not applicable: a1 does not take app web; not sent",
    });
    await insertFinishedRollout(t, R2, v3, base + 1);
    // Then years of another app's rollouts.
    await insertRolloutRows(t, await publishRelease(t, "1.0.0", "api"), MANY, "eeee", base + 10);

    const back = await session.connect(t, "a1", [
      { app: "web", version: "1.0.0", state: "ok", releaseId: undefined },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Before: the 2.0.0 rollout's instruction went out (pending, then sent) over the fleet's 3.0.0.
    expect(back.received.filter((m: HubMessage) => m.type === "deploy")).toEqual([]);
    expect((await t.hub.store.getDeployment(`${R1}:a1`))?.state).toBe("not_applicable");
  }, 180_000);
});
