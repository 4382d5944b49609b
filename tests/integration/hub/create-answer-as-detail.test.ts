/**
 * `POST /rollouts` answers from what its transaction wrote (not read back) and evaluates the
 * take-over rule compiled once per condition, not per deployment: a wave start's answer at 10,000
 * agents cost hub 1 the CPU its cluster's other hubs needed to deliver. What it says must stay what
 * `GET /rollouts/:id` says of the same rollout: counts, the actions offered (abort with rollback
 * only while someone could be sent back), each agent's state, presence and offline deadline. Real
 * hub over HTTP and WebSocket, on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import { type HelloApps, hubBackendsPerFile, hubPerTest, isType, publishRelease } from "./support.js";

const session = hubPerTest();
const backends = hubBackendsPerFile();

type Agent = { agentId: string; state: string; online: boolean; offlineFailsAt?: string; updatedAt: string };
type Detail = {
  id: string;
  warnings?: string[];
  state: string;
  counts: Record<string, number>;
  actions: string[];
  restored: number;
  notRolledBack: string[];
  waves: { name: string; status: string; counts: Record<string, number>; agents: Agent[] }[];
};

const on = (version: string): HelloApps => [{ app: "web", version, state: "updated", releaseId: undefined }];

for (const backend of backends)
  describe.skipIf(!backend.available)(`${backend.name}: the answer to a rollout's creation`, () => {
    it("says what the rollout's page says: states, presence, offline deadlines, rollback offered", async () => {
      const t = await session.start(await backend.options());
      await publishRelease(t, "1.0.0");
      const release = await publishRelease(t, "2.0.0");
      // Connected on 1.0.0 (sent the release now), and one that left (owed it, with a deadline).
      const connected = await Promise.all(
        ["a1", "a2", "a3"].map((id) => session.connect(t, id, on("1.0.0"))),
      );
      const away = await session.connect(t, "a4", on("1.0.0"));
      away.ws.terminate();
      // Gone from the store too: the create's warnings and a cluster's presence read it there.
      const gone = async () =>
        !t.hub.registry.isOnline("a4") && (await t.hub.store.getAgent("a4"))?.online === false;
      await expect.poll(gone, { timeout: 10_000 }).toBe(true);

      const created = await t.api<Detail>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await Promise.all(connected.map((a) => a.next(isType("deploy"))));
      const shown = await t.api<Detail>("GET", `/api/v1/rollouts/${created.body.id}`, { token: t.operator });

      // Beside the view, the answer repeats what the preview warned of (a4 is away).
      const { warnings, ...answer } = created.body;
      expect(warnings).toEqual([expect.stringContaining("are offline now (a4)")]);
      expect(answer).toEqual(shown.body);
      const agents = created.body.waves.flatMap((w) => w.agents);
      expect(agents.map((a) => [a.agentId, a.state, a.online])).toEqual([
        ["a1", "sent", true],
        ["a2", "sent", true],
        ["a3", "sent", true],
        ["a4", "pending", false],
      ]);
      expect(agents.filter((a) => a.offlineFailsAt !== undefined).map((a) => a.agentId)).toEqual(["a4"]);
      expect(created.body.counts).toEqual({ sent: 3, pending: 1 });
      // Sent agents may have installed it: the rule says a rollback acts on them.
      expect(created.body.actions).toContain("abort-rollback");
      expect(created.body.restored).toBe(0);
      expect(created.body.notRolledBack).toEqual([]);
    });
  });
