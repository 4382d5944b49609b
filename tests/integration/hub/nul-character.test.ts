/**
 * U+0000 from a client, on both stores. PostgreSQL cannot hold it in a text or JSON value: a
 * request naming one (`GET /rollouts/%00abc`, `?app=%00`, a body's `release`) was a 500 "internal
 * error" there (a 404 or 200 on SQLite); an agent's report whose error quoted a hook's binary
 * output was neither stored nor acked, so the deployment stayed `sent` while the agent sent the
 * report again for ever; and a hello holding one never brought its agent online. Now a request is
 * a 400 naming where, on either store, and an agent's message keeps its text with U+FFFD in place
 * of the NUL. Real hub over real HTTP and WebSocket, on SQLite and on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { hubBackends, hubPerTest, isType, publishRelease, sendReport } from "./support.js";

let pg: PostgresServer | undefined;
const session = hubPerTest();
const isDeploy = isType("deploy");
const isAck = isType("ack");

beforeAll(async () => {
  if (hasPostgres()) pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const WHY = "holds a NUL character (U+0000), which no id, name, label or version holds";

for (const backend of hubBackends(() => pg))
  describe.skipIf(!backend.available)(`a NUL character on ${backend.name}`, () => {
    it("in a request's path, query or body is a 400 naming where; nothing is created", async () => {
      const t = await session.start(await backend.options());
      const release = await publishRelease(t, "2.0.0");
      await session.connect(t, "a1");
      for (const [path, field] of [
        ["/api/v1/rollouts/%00abc", "path"],
        ["/api/v1/rollouts/abcd%00", "path"],
        ["/api/v1/releases/%00", "path"],
        ["/api/v1/agents/a1%00", "path"],
        ["/api/v1/rollouts?app=%00", "query.app"],
        ["/api/v1/releases?app=we%00b", "query.app"],
        ["/api/v1/events?subject=%00", "query.subject"],
        ["/api/v1/agents?app=web&version=1%00", "query.version"],
      ] as const) {
        const res = await t.api("GET", path, { token: t.operator });
        expect({ path, status: res.status, error: res.body.error }).toEqual({
          path,
          status: 400,
          error: `${field}: ${WHY}`,
        });
      }
      for (const [body, field] of [
        [{ release: `${release}\u0000`, waves: [{ name: "all", percent: 100 }] }, "body.release"],
        [
          {
            release,
            waves: [
              { name: "eu", labels: { region: "eu\u0000" } },
              { name: "all", percent: 100 },
            ],
          },
          "body.waves[0].labels.region",
        ],
        [
          { release, selector: { labels: { "env\u0000": "prod" } }, waves: [{ name: "all", percent: 100 }] },
          "body.selector.labels.env\u0000",
        ],
      ] as const) {
        const res = await t.api("POST", "/api/v1/rollouts", { token: t.operator, body });
        expect({ field, status: res.status, error: res.body.error }).toEqual({
          field,
          status: 400,
          error: `${field}: ${WHY}`,
        });
      }
      const list = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
      expect(list.body.rollouts).toEqual([]);
    });

    it("in an agent's hello or report is kept as U+FFFD: the agent comes online and its report lands", async () => {
      const t = await session.start(await backend.options());
      const release = await publishRelease(t, "2.0.0");
      const a1 = await session.connect(
        t,
        "a1",
        [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }],
        { "ro\u0000le": "web\u0000" },
      );
      await expect
        .poll(async () => (await t.hub.store.getAgent("a1"))?.labels, { timeout: 10_000 })
        .toEqual({ "ro\ufffdle": "web\ufffd" });
      const id = (
        await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
          token: t.operator,
          body: { release, waves: [{ name: "all", percent: 100 }] },
        })
      ).body.id;
      const deploy = await a1.next(isDeploy);
      const reportId = sendReport(a1, deploy, "failed", [{ name: "post_update", ok: false, ms: 1 }], {
        error: "hook printed \u0000\u0001 binary",
      });
      await a1.next((m): m is Extract<typeof m, { type: "ack" }> => isAck(m) && m.reportId === reportId);
      const view = await t.api<{ waves: { agents: { state: string; error: string | null }[] }[] }>(
        "GET",
        `/api/v1/rollouts/${id}`,
        { token: t.operator },
      );
      expect(view.body.waves[0]?.agents[0]).toMatchObject({
        state: "failed",
        error: "failed: hook printed \ufffd\u0001 binary",
      });
    });
  });
