/**
 * README: at most 10,000 agent ids named by a rollout's `agents` waves in all, so that one rollout
 * body does not stall the hub. The count is checked, but every duplicate id is still turned into
 * its own issue ("\"x\" is named twice in this wave") before the answer is cut: 450,000 copies of
 * one id (a 1.8 MB body, under the 2 MB limit) held the hub's event loop ~8 s on this machine
 * (`/healthz` answered after 7.4 s while it ran), where 150,000 distinct ids take ~0.4 s.
 * Real hub (in process), real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpuMsDuring } from "../../support/cpu-time.js";
import { publishRelease, startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
let release: string;
beforeAll(async () => {
  t = await startTestHub();
  release = await publishRelease(t, "2.0.0");
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

describe("an agents wave naming one id 450,000 times (a 1.8 MB body)", () => {
  it("is refused in about the time a 10,001-id body is", async () => {
    const { value: res, cpuMs } = await cpuMsDuring(() =>
      t.api<{ error: string }>("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", agents: Array.from({ length: 450_000 }, () => "x") },
            { name: "all", percent: 100 },
          ],
        },
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toContain("more than the 10000 one rollout may name");
    expect(cpuMs).toBeLessThan(1500);
  }, 120_000);
});
