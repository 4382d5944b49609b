/**
 * `GET /api/v1/events?subject=` finds a rollout's events by the ids the rollout routes take: the 8
 * characters the dashboard and `rollout list` show (any unique prefix), in either case, and
 * `PREFIX:AGENT` for a deployment's events. It matched the full id only, so the short id an operator
 * copies from the dashboard listed no events at all, as if nothing had happened. An ambiguous prefix
 * is the rollout routes' 409; a subject no rollout answers to is matched as written (an agent's id
 * still lists its events; an unknown one lists none). Real hub, real agent channel.
 */
import { describe, expect, it } from "vitest";
import { hubPerTest, publishRelease } from "./support.js";

const session = hubPerTest();
const FIRST = "1111aaaa-0000-4000-8000-000000000001";
const SECOND = "1111bbbb-0000-4000-8000-000000000002";

type Events = { events: { subject: string; kind: string }[]; error?: string };

describe("GET /events?subject= by a rollout's short id", () => {
  it("lists the rollout's events by its full id, short id, either case; deployments by PREFIX:AGENT; 409 when ambiguous", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    const body = (id: string) => ({ id, release, waves: [{ name: "all", agents: ["a1"] }] });
    for (const id of [FIRST, SECOND]) {
      const created = await t.api("POST", "/api/v1/rollouts", { token: t.operator, body: body(id) });
      expect(created.status).toBe(201);
      const aborted = await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });
      expect(aborted.status).toBe(200);
    }
    const events = (subject: string) =>
      t.api<Events>("GET", `/api/v1/events?subject=${encodeURIComponent(subject)}`, { token: t.operator });

    const full = await events(FIRST);
    expect(full.status).toBe(200);
    const kinds = full.body.events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["rollout.created", "rollout.aborted"]));
    for (const id of ["1111aaaa", "1111AAAA", FIRST.toUpperCase(), "1111aaaa-0000"]) {
      const res = await events(id);
      expect({ id, status: res.status, events: res.body.events }).toEqual({
        id,
        status: 200,
        events: full.body.events,
      });
    }

    const deployment = await events(`${FIRST}:a1`);
    expect(deployment.body.events.length).toBeGreaterThan(0);
    expect((await events("1111AAAA:a1")).body.events).toEqual(deployment.body.events);

    const ambiguous = await events("1111");
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error).toContain("ambiguous");
    expect(ambiguous.body.error).toContain(FIRST);
    expect(ambiguous.body.error).toContain(SECOND);

    // Not a rollout: matched as written.
    const agent = await events("a1");
    expect(agent.status).toBe(200);
    expect(agent.body.events.map((e) => e.kind)).toContain("agent.online");
    const unknown = await events("9999ffff");
    expect(unknown.status).toBe(200);
    expect(unknown.body.events).toEqual([]);
  });

  it("a rollout's log holds its deployments' events with its own, newest first and paged, and no other rollout's", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    await session.connect(t, "a2");
    const body = (id: string) => ({ id, release, waves: [{ name: "all", agents: ["a1", "a2"] }] });
    for (const id of [FIRST, SECOND]) {
      const created = await t.api("POST", "/api/v1/rollouts", { token: t.operator, body: body(id) });
      expect(created.status).toBe(201);
      const aborted = await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });
      expect(aborted.status).toBe(200);
    }
    const events = (query: string) =>
      t.api<Events & { next: number | null }>("GET", `/api/v1/events?${query}`, { token: t.operator });
    const all = (await events("limit=1000")).body.events;
    const ofFirst = all.filter((e) => e.subject === FIRST || e.subject.startsWith(`${FIRST}:`));
    // Each agent was sent the release (or had it cancelled) under `<rollout>:<agent>`.
    expect(new Set(ofFirst.map((e) => e.subject))).toEqual(new Set([FIRST, `${FIRST}:a1`, `${FIRST}:a2`]));

    for (const subject of [FIRST, "1111aaaa", "1111AAAA"]) {
      const res = await events(`subject=${encodeURIComponent(subject)}`);
      expect({ subject, status: res.status, events: res.body.events }).toEqual({
        subject,
        status: 200,
        events: ofFirst,
      });
    }
    // Paged one at a time, the same events in the same order.
    const paged: Events["events"] = [];
    let before: number | null = null;
    do {
      const res = await events(`subject=${FIRST}&limit=1${before === null ? "" : `&before=${before}`}`);
      expect(res.status).toBe(200);
      paged.push(...res.body.events);
      before = res.body.next;
    } while (before !== null);
    expect(paged).toEqual(ofFirst);
    // One deployment's events are its own only.
    const one = (await events(`subject=${encodeURIComponent(`${FIRST}:a1`)}`)).body.events;
    expect(one.length).toBeGreaterThan(0);
    expect(one).toEqual(ofFirst.filter((e) => e.subject === `${FIRST}:a1`));
  });
});
