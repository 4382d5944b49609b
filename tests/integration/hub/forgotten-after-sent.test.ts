/**
 * An agent an operator forgot (`ship-hub agents forget`) after the hub had sent it the release, but
 * before any progress of it reached the hub: the host took the deploy and stopped (or its "fetch
 * started" was lost with the connection, as the README says a start can be). It may have installed
 * the release. The fix for an agent forgotten after its progress was heard (forgotten-in-flight)
 * does not reach this one: abort --rollback says "rollback sent to 1 agent(s)" and does not name
 * it, and when the host rejoins with a new token it is sent nothing; the success it then reports
 * for the instruction it had ends `succeeded` on the release of an aborted rollout, the host left on
 * the release the operator took back (and `rollout show` says nothing of it). Real hub over HTTP
 * and WebSocket, on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import {
  type HelloApps,
  hubBackendsPerFile,
  hubPerTest,
  isType,
  publishRelease,
  reportAcked,
} from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();

const isDeploy = isType("deploy");
const isRollback = (m: Parameters<typeof isDeploy>[0]): m is Deploy => isDeploy(m) && m.rollback === true;

for (const backend of backends)
  describe.skipIf(!backend.available)(
    `${backend.name}: an agent forgotten after it was sent the release`,
    () => {
      it("abort --rollback names it and sends it back when it rejoins; its late success does not stand", async () => {
        const t = await session.start(await backend.options());
        const v1 = await publishRelease(t, "1.0.0");
        const on1: HelloApps = [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }];
        const u1 = await session.connect(t, "u1", on1);
        const u2 = await session.connect(t, "u2", on1);
        const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
          token: t.operator,
          body: { release: await publishRelease(t, "2.0.0"), waves: [{ name: "all", percent: 100 }] },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const id = created.body.id;
        // u1 takes the deploy; nothing of its run reaches the hub before its connection drops.
        const deploy: Deploy = await u1.next(isDeploy);
        await reportAcked(u2, await u2.next(isDeploy), "succeeded");
        u1.ws.terminate();
        await expect
          .poll(async () => (await t.hub.store.getAgent("u1"))?.online, { timeout: 10_000 })
          .toBe(false);
        expect((await t.hub.store.getDeployment(`${id}:u1`))?.state).toBe("sent");
        const forgot = await t.api("POST", "/api/v1/agents/u1/forget", { token: t.operator, body: {} });
        expect(forgot.status, JSON.stringify(forgot.body)).toBe(200);

        const back = await t.api<{ reason: string; notRolledBack: string[] }>(
          "POST",
          `/api/v1/rollouts/${id}/abort`,
          { token: t.operator, body: { rollback: true } },
        );
        expect(back.status, JSON.stringify(back.body)).toBe(200);
        // Before: "aborted; rollback sent to 1 agent(s)", notRolledBack [], u1 not named at all.
        expect(back.body.notRolledBack).toEqual(["u1"]);
        expect(back.body.reason).toContain("NOT rolled back");

        // Back with a new token, it finishes the update it had been sent: the rollback is owed.
        const rejoined = await session.connect(t, "u1", on1);
        await reportAcked(rejoined, deploy, "succeeded");
        const rollback = await rejoined.next(isRollback, 10_000);
        expect(rollback).toMatchObject({ rollback: true, release: { id: v1 } });
        expect((await t.hub.store.getDeployment(`${id}:u1`))?.state).not.toBe("succeeded");
      });
    },
  );
