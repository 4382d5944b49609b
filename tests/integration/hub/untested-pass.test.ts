/**
 * An operator who passes a wave that tested nothing (the hub held it for them: its agents ran the
 * release already, never answered, or were counted failed on it; or it held none) makes a decision
 * the audit log must name them for, as it does a pause or an accepted failure: the pass cleared the
 * rollout's reason that said so, and nothing recorded who passed it untested. Real hub (in
 * process), real agent channel over a real WebSocket, real SQLite; the built CLI as an operator.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import {
  type HelloApps,
  hubPerTest,
  isType,
  operatorCli,
  publishRelease,
  reportAcked,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const on = (version: string): HelloApps => [{ app: "web", version, state: "updated", releaseId: undefined }];

type View = { state: string; currentWave: number; reason: string | null; needsDecision: boolean };
type Event = {
  kind: string;
  actor: string;
  data: {
    wave?: number;
    name?: string;
    message?: string;
    untested?: string;
    counts?: Record<string, number>;
  };
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const events = async (t: TestHub, id: string) =>
  (await t.api<{ events: Event[] }>("GET", `/api/v1/events?subject=${id}`, { token: t.operator })).body
    .events;
async function create(t: TestHub, body: Record<string, unknown>): Promise<string> {
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release: await publishRelease(t, "2.0.0"), failureThreshold: { count: 5 }, ...body },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

const canaryThenRest = [
  { name: "canary", agents: ["c1"] },
  { name: "rest", percent: 100 },
];

describe("passing a wave that tested nothing is recorded with who passed it", () => {
  it("an advance past a canary whose agents ran the release already: an event naming the operator, and a warning in the answer (the CLI's stderr)", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "c1", on("2.0.0"));
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const id = await create(t, { waves: canaryThenRest, autoAdvance: true });
    await expect.poll(async () => (await view(t, id)).needsDecision, { timeout: 10_000 }).toBe(true);
    const actor = (await events(t, id)).find((e) => e.kind === "rollout.created")?.actor;
    expect(actor).toBeDefined();
    const advanced = await operatorCli(t, "rollout", "advance", id);
    expect(advanced.code).toBe(0);
    const said = `passed by ${actor} with nothing tested: wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing`;
    expect(advanced.stderr).toContain(`warning: ${said}`);
    await w1.next(isType("deploy"));
    const untested = (await events(t, id)).filter((e) => e.kind === "rollout.wave_untested");
    expect(untested).toEqual([
      expect.objectContaining({
        actor,
        data: {
          wave: 0,
          name: "canary",
          message: said,
          // Why, as fields: a script reads these, not the message's words.
          untested: "not-answered",
          counts: { alreadyOn: 1, unanswered: 0, broken: 0, notApplicable: 0, forgotten: 0 },
        },
      }),
    ]);
  });

  it("an advance past a canary whose agent never answered (timed out), without autoAdvance, through the API", async () => {
    const t = await session.start({ offlineTimeoutMs: 300 });
    const away = await session.connect(t, "c1", on("1.0.0"));
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
    await session.connect(t, "w1", on("1.0.0"));
    const id = await create(t, { waves: canaryThenRest });
    await expect.poll(async () => (await view(t, id)).needsDecision, { timeout: 15_000 }).toBe(true);
    const answer = await t.api<{ warnings?: string[] }>("POST", `/api/v1/rollouts/${id}/advance`, {
      token: t.operator,
      body: { fromWave: 0 },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.warnings).toEqual([
      expect.stringMatching(
        /^passed by .+ with nothing tested: wave 1 \(canary\) tested nothing: its 1 agent\(s\) never answered \(offline or silent past their timeout, counted failed\)$/,
      ),
    ]);
    const [passed] = (await events(t, id)).filter((e) => e.kind === "rollout.wave_untested");
    expect(passed?.data).toMatchObject({ untested: "not-answered", counts: { alreadyOn: 0, unanswered: 1 } });
  });

  it("an advance past a wave that was tested records nothing of the kind", async () => {
    const t = await session.start();
    const c1 = await session.connect(t, "c1", on("1.0.0"));
    await session.connect(t, "w1", on("1.0.0"));
    const id = await create(t, { waves: canaryThenRest });
    await reportAcked(c1, await c1.next(isType("deploy")), "succeeded", [{ name: "fetch", ok: true, ms: 1 }]);
    const answer = await t.api<{ warnings?: string[] }>("POST", `/api/v1/rollouts/${id}/advance`, {
      token: t.operator,
      body: { fromWave: 0 },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.warnings).toBeUndefined();
    expect((await events(t, id)).map((e) => e.kind)).not.toContain("rollout.wave_untested");
  });

  it("a resume that completes a rollout held on a last wave that tested nothing", async () => {
    const t = await session.start();
    const h1 = await session.connect(t, "h1", on("1.0.0"));
    const id = await create(t, { waves: [{ name: "all", percent: 100 }], autoAdvance: true });
    await h1.next(isType("deploy"));
    h1.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("h1"))?.online, { timeout: 10_000 })
      .toBe(false);
    expect((await t.api("POST", "/api/v1/agents/h1/forget", { token: t.operator, body: {} })).status).toBe(
      200,
    );
    await expect.poll(async () => (await view(t, id)).needsDecision, { timeout: 10_000 }).toBe(true);
    const answer = await t.api<{ state: string; warnings?: string[] }>(
      "POST",
      `/api/v1/rollouts/${id}/resume`,
      {
        token: t.operator,
        body: {},
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.state).toBe("completed");
    const said = expect.stringMatching(
      /^completed as it is by .+ with nothing tested: wave 1 \(all\) tested nothing: its 1 agent\(s\) were forgotten by an operator/,
    );
    expect(answer.body.warnings).toEqual([said]);
    expect((await events(t, id)).filter((e) => e.kind === "rollout.wave_untested")).toEqual([
      expect.objectContaining({
        data: {
          wave: 0,
          name: "all",
          message: said,
          untested: "left-out",
          // h1 was sent the release before it was forgotten: its host may run it.
          counts: { notApplicable: 0, forgotten: 1, forgottenSent: 1 },
        },
      }),
    ]);
  });
});
