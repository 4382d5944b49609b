/**
 * One rollout body must not stall the hub. An `agents` wave was matched with a list search per
 * agent, so on a 10,000-agent fleet one `POST /rollouts/preview` naming 150,000 ids (1.5 MB, under
 * the body limit) held the event loop 26 s (`/healthz` waited as long), and the warning about ids
 * that never registered listed every one of them, into the answer and the `rollout.created` event.
 * Now the ids are looked up in a set, a body names at most 10,000 agents in all, and a warning
 * names the first few ids and how many more. Real hub (in process), real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_NAMED_AGENTS } from "../../../shared/api/bodies.js";
import { cpuMsDuring } from "../../support/cpu-time.js";
import { publishRelease, startTestHub, type TestHub } from "../hub/support.js";

const FLEET = 10_000;
let t: TestHub;
let release: string;

beforeAll(async () => {
  t = await startTestHub();
  release = await publishRelease(t, "2.0.0");
  await t.hub.store.tx(async (tx) => {
    for (let i = 0; i < FLEET; i++)
      await tx.upsertAgent({
        id: `host-${String(i).padStart(5, "0")}`,
        hostname: `host-${i}.example`,
        labels: {},
        agentVersion: "0.1.0",
        apps: [{ app: "web", version: "1.0.0", state: "ok" }],
        online: false,
        lastSeen: Date.now(),
      });
  });
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** `count` ids: host-00000 (registered) and then ids no agent has (host-10000 on). */
const named = (count: number) => [
  "host-00000",
  ...Array.from({ length: count - 1 }, (_, i) => `host-${FLEET + i}`),
];
const body = (agents: string[]) => ({
  release,
  waves: [
    { name: "canary", agents },
    { name: "all", percent: 100 },
  ],
});

describe("an agents wave naming many ids, on a 10,000-agent fleet", () => {
  it("is planned in linear time, and its warning names a few ids and how many more", async () => {
    const agents = named(MAX_NAMED_AGENTS);
    // Before, this took seconds of CPU (a list search per agent per wave).
    const { value: preview, cpuMs } = await cpuMsDuring(() =>
      t.api<{ waves: { agents: string[] }[]; warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body: body(agents),
      }),
    );
    expect(preview.status).toBe(200);
    expect(preview.body.waves[0]?.agents).toEqual(["host-00000"]);
    expect(preview.body.waves[1]?.agents).toHaveLength(FLEET - 1);
    expect(cpuMs).toBeLessThan(1500);
    const [warning, ...others] = preview.body.warnings.filter((w) => w.startsWith("body.waves[0].agents"));
    expect(others).toEqual([]);
    expect(warning).toMatch(
      /^body\.waves\[0\]\.agents \(canary\): host-10000, host-10001, .*, host-10009 and 9989 more never registered with the hub \(a typo\?\)/,
    );
    expect(warning?.length).toBeLessThan(1000);

    const created = await cpuMsDuring(() =>
      t.api<{ id: string }>("POST", "/api/v1/rollouts", { token: t.operator, body: body(agents) }),
    );
    expect(created.value.status).toBe(201);
    expect(created.cpuMs).toBeLessThan(3000);
    const [event] = await t.hub.store.listEvents({ subject: created.value.body.id, limit: 1 });
    expect(event?.kind).toBe("rollout.created");
    expect(JSON.stringify(event?.data).length).toBeLessThan(5000);
    await t.api("POST", `/api/v1/rollouts/${created.value.body.id}/abort`, { token: t.operator, body: {} });
  }, 60_000);

  it("is refused past 10,000 ids in all, naming the wave where the count is crossed; nothing is created", async () => {
    const res = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "a", agents: named(6000) },
          { name: "b", agents: Array.from({ length: 5000 }, (_, i) => `more-${i}`) },
          { name: "all", percent: 100 },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      `body.waves[1].agents: the rollout's agents waves name 11000 agents in all, more than the ${MAX_NAMED_AGENTS} one rollout may name: use labels or percent waves for larger groups`,
    );
    const list = await t.api<{ rollouts: { state: string }[] }>("GET", "/api/v1/rollouts", {
      token: t.operator,
    });
    expect(list.body.rollouts.map((r) => r.state)).toEqual(["aborted"]);
  });
});
