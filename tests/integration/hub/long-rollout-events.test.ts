/**
 * A rollout that ran long has many events of its own (each change of its waiting reason, untested
 * passes, advances…). The engine found its last resume, its pauses and its last change of state
 * among the newest 1,000 of them: past that, a second operator's pause no longer said who paused
 * it, a wave's wait no longer counted the time it stood paused (it advanced early), and a failure
 * accepted at the resume that later stopped counting left the allowance as it was (the next real
 * failure was absorbed, the rollout did not halt). The store is asked for the kinds wanted now.
 * Real hub over HTTP and WebSocket, on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import {
  hubBackendsPerFile,
  hubPerTest,
  isType,
  publishRelease,
  reportAcked,
  sendReport,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();
const isDeploy = isType("deploy");

/** More of the rollout's own events than the engine used to read: as many waiting reasons said. */
async function manyLaterEvents(t: TestHub, rolloutId: string): Promise<void> {
  const at = Date.now();
  await t.hub.store.appendEvents(
    Array.from({ length: 1_200 }, (_, i) => ({
      at,
      actor: "hub",
      kind: "rollout.waiting",
      subject: rolloutId,
      data: { reason: `waiting for an operator (${i})` },
    })),
  );
}

type View = {
  state: string;
  reason: string | null;
  waveStartedAt: string;
  autoAdvanceAt?: string;
  counts: Record<string, number>;
  waves: { agents: { agentId: string; state: string }[] }[];
};

async function create(t: TestHub, body: Record<string, unknown>) {
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release: await publishRelease(t, "2.0.0"), ...body },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const act = (action: string) =>
    t.api<View & { error?: string }>("POST", `/api/v1/rollouts/${id}/${action}`, {
      token: t.operator,
      body: {},
    });
  const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
  return { id, act, view };
}

for (const backend of backends)
  describe.skipIf(!backend.available)(`${backend.name}: a rollout with over 1,000 events of its own`, () => {
    it("a second pause names who paused it, however many events came since", async () => {
      const t = await session.start(await backend.options());
      await session.connect(t, "a1");
      const { id, act } = await create(t, { waves: [{ name: "all", percent: 100 }] });
      expect((await act("pause")).status).toBe(200);
      await manyLaterEvents(t, id);
      const again = await act("pause");
      expect(again.status).toBe(409);
      // Before: "rollout … is paused: pause applies to a running rollout", who and when unsaid.
      expect(again.body.error).toMatch(
        new RegExp(`^rollout ${id} is paused \\(paused \\d+ s ago by operator`),
      );
    });

    it("a wave's wait still leaves out the time it stood paused", async () => {
      const t = await session.start(await backend.options());
      const c1 = await session.connect(t, "c1");
      await session.connect(t, "m1");
      const { id, act, view } = await create(t, {
        waves: [
          { name: "canary", agents: ["c1"], waitMinutes: 30 },
          { name: "rest", percent: 100 },
        ],
        autoAdvance: true,
      });
      sendReport(c1, await c1.next(isDeploy), "succeeded");
      await expect.poll(async () => (await view()).counts.succeeded, { timeout: 10_000 }).toBe(1);
      expect((await act("pause")).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_500));
      await manyLaterEvents(t, id);
      expect((await act("resume")).status).toBe(200);
      const shown = await view();
      const waited = Date.parse(shown.autoAdvanceAt ?? "") - Date.parse(shown.waveStartedAt);
      // Before: exactly 30 minutes, the 1.5 s paused counted as waited.
      expect(waited).toBeGreaterThanOrEqual(30 * 60_000 + 1_500);
    });

    it("a failure accepted at the resume that turns into a success gives its allowance back", async () => {
      const t = await session.start({ ...(await backend.options()), offlineTimeoutMs: 400 });
      await publishRelease(t, "1.0.0");
      const away = await session.connect(t, "away");
      const other = await session.connect(t, "other");
      const { id, act, view } = await create(t, {
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
      });
      const sent = await away.next(isDeploy);
      const otherDeploy = await other.next(isDeploy);
      away.ws.terminate();
      await expect.poll(view, { timeout: 10_000 }).toMatchObject({ state: "paused" });
      expect((await act("resume")).status).toBe(200);
      expect((await act("pause")).status).toBe(200);
      await manyLaterEvents(t, id);
      const back = await session.connect(t, "away");
      // Its outbox delivers the report of the update it finished while away.
      await reportAcked(back, sent, "succeeded");
      await reportAcked(other, otherDeploy, "failed");
      // Before: the allowance still covered the first failure, so this one did not halt it.
      await expect
        .poll(async () => (await view()).reason, { timeout: 10_000 })
        .toBe(
          "failure threshold (1 failure(s)) reached: 1 failed when it halted (while paused by an operator)",
        );
    });
  });
