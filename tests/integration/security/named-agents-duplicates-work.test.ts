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

// Since a body's values are counted before it is parsed (30,000 at most: request-limits), 450,000
// copies are refused for their count; 25,000 copies pass that count and reach the agents' rule.
describe("an agents wave naming one id many times", () => {
  it.each([
    [450_000, "body: more than 30000 values"],
    [25_000, "more than the 10000 one rollout may name"],
  ])(
    "%i times is refused in about the time a 10,001-id body is",
    async (copies, said) => {
      const { value: res, cpuMs } = await cpuMsDuring(() =>
        t.api<{ error: string }>("POST", "/api/v1/rollouts/preview", {
          token: t.operator,
          body: {
            release,
            waves: [
              { name: "canary", agents: Array.from({ length: copies }, () => "x") },
              { name: "all", percent: 100 },
            ],
          },
        }),
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(said);
      expect(cpuMs).toBeLessThan(1500);
    },
    120_000,
  );
});
