/**
 * An agent handed the release, then owed it again (`pending` once more: relabelled out of the
 * selector and back while the rollout was paused, or timed out and retried while away) may still
 * carry out the instruction it had. Abort with rollback cancelled it as "never sent": no rollback
 * went to it, and the success it reported afterwards ended `succeeded` on the release of an
 * aborted rollout, the host left on the release the operator took back. Now the rollback reaches
 * it (pending, or cancelled by an earlier plain abort) and its late success changes nothing. Real
 * hub over HTTP and WebSocket, on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import type { HubOptions } from "../../../hub/server.js";
import type { Deploy } from "../../../shared/protocol/messages.js";
import {
  type HelloApps,
  hubBackendsPerFile,
  hubPerTest,
  isType,
  publishRelease,
  reportAcked,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();

const isDeploy = isType("deploy");
const on1: HelloApps = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];

type View = {
  state: string;
  reason: string | null;
  actions: string[];
  waves: { agents: { agentId: string; state: string }[] }[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const stateOf = async (t: TestHub, id: string, agentId: string) =>
  (await view(t, id)).waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId)?.state;
const act = (t: TestHub, id: string, action: string, body: unknown = {}) =>
  t.api<View>("POST", `/api/v1/rollouts/${id}/${action}`, { token: t.operator, body });

/**
 * a1 (env=prod) is sent web 2.0.0, the rollout is paused, a1 comes back relabelled staging (not
 * applicable), then back in prod: owed the release again, `pending`, not sent while paused.
 */
async function pendingAgain(options: Partial<HubOptions>) {
  const t = await session.start(options);
  const a1 = await session.connect(t, "a1", on1, { env: "prod" });
  await publishRelease(t, "1.0.0");
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: await publishRelease(t, "2.0.0"),
      selector: { labels: { env: "prod" } },
      waves: [{ name: "all", percent: 100 }],
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const deploy: Deploy = await a1.next(isDeploy);
  expect((await act(t, id, "pause")).status).toBe(200);
  a1.ws.terminate();
  const staging = await session.connect(t, "a1", on1, { env: "staging" });
  await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("not_applicable");
  staging.ws.terminate();
  await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(false);
  const again = await session.connect(t, "a1", on1, { env: "prod" });
  await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("pending");
  return { t, id, deploy, again };
}

for (const backend of backends)
  describe.skipIf(!backend.available)(
    `${backend.name}: an agent owed the release again after it was sent it`,
    () => {
      it("abort --rollback sends it back; the success it reports for its first instruction does not stand", async () => {
        const { t, id, deploy, again } = await pendingAgain(await backend.options());
        expect((await view(t, id)).actions).toContain("abort-rollback");
        const aborted = await act(t, id, "abort", { rollback: true });
        expect(aborted.status, JSON.stringify(aborted.body)).toBe(200);
        // Before: "aborted; no agent to send back" (a 409), a1 cancelled and sent nothing.
        expect(aborted.body.reason).toBe("aborted; rollback sent to 1 agent(s)");
        const back: Deploy = await again.next(isDeploy);
        expect(back).toMatchObject({ rollback: true, release: { version: "1.0.0" } });
        await reportAcked(again, deploy, "succeeded");
        expect(await stateOf(t, id, "a1")).toBe("rollback_pending");
        await reportAcked(again, back, "succeeded");
        await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rolled_back");
      });

      it("abort --rollback after a plain abort cancelled it sends it back too", async () => {
        const { t, id, deploy, again } = await pendingAgain(await backend.options());
        expect((await act(t, id, "abort")).status).toBe(200);
        expect(await stateOf(t, id, "a1")).toBe("cancelled");
        const aborted = await act(t, id, "abort", { rollback: true });
        expect(aborted.status, JSON.stringify(aborted.body)).toBe(200);
        const back: Deploy = await again.next(isDeploy);
        expect(back).toMatchObject({ rollback: true, release: { version: "1.0.0" } });
        await reportAcked(again, deploy, "succeeded");
        expect(await stateOf(t, id, "a1")).toBe("rollback_pending");
      });
    },
  );
