/**
 * A wave whose agents were all forgotten (`ship-hub agents forget`) or no longer take part
 * (not_applicable) tested nothing, wherever it sits: it used to hold the rollout only while later
 * waves held agents, so a one-agent fleet's canary, a single-wave rollout or an emptied last wave
 * passed and the rollout "completed" with no agent on the release. Real hub (in process), real
 * agent channel, the built CLI for what an operator reads and does.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import {
  hubPerTest,
  isType,
  operatorCli,
  publishRelease,
  reportAcked,
  type TestAgent,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const web = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];
const other = [{ app: "other", version: "1.0.0", state: "updated", releaseId: undefined }];

type View = {
  state: string;
  currentWave: number;
  reason: string | null;
  needsDecision: boolean;
  actions: string[];
  waves: { agents: { agentId: string }[] }[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;

const held =
  "waiting for an operator: wave 1 (all) tested nothing: its 1 agent(s) were forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it); no agent of the rollout reported taking the release: resume to complete it as it is, or abort";

/** A single-wave rollout of 2.0.0 to h1 alone, h1 then forgotten: held, saying `held`. */
async function heldSingleWave(t: TestHub): Promise<string> {
  const h1 = await session.connect(t, "h1", web);
  const { id } = await create(t, [{ name: "all", percent: 100 }]);
  await forget(t, h1, "h1");
  await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(held);
  return id;
}

/** c1 (the canary wave) and w1 (the rest) on web; a rollout of 2.0.0 to them without autoAdvance. */
async function canaryOfC1WithoutAutoAdvance(t: TestHub) {
  const c1 = await session.connect(t, "c1", web);
  await session.connect(t, "w1", web);
  const waves = [
    { name: "canary", agents: ["c1"] },
    { name: "rest", percent: 100 },
  ];
  return { c1, id: (await create(t, waves, false)).id };
}

async function create(t: TestHub, waves: unknown[], autoAdvance = true): Promise<View & { id: string }> {
  const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: await publishRelease(t, "2.0.0"),
      waves,
      failureThreshold: { count: 1 },
      autoAdvance,
    },
  });
  expect(created.status).toBe(201);
  return created.body;
}

/** `agent` sent the release, then gone for good and forgotten by an operator before it answered. */
async function forget(t: TestHub, agent: TestAgent | undefined, agentId: string): Promise<void> {
  await agent?.next(isType("deploy"));
  agent?.ws.terminate();
  // The forget route reads the stored presence, which the socket's close reaches after the registry.
  await expect
    .poll(async () => (await t.hub.store.getAgent(agentId))?.online, { timeout: 10_000 })
    .toBe(false);
  expect(
    (await t.api("POST", `/api/v1/agents/${agentId}/forget`, { token: t.operator, body: {} })).status,
  ).toBe(200);
}

const kinds = async (t: TestHub, id: string) =>
  (
    await t.api<{ events: { kind: string }[] }>("GET", `/api/v1/events?subject=${id}`, { token: t.operator })
  ).body.events.map((e) => e.kind);

const cli = (t: TestHub, ...args: string[]) => operatorCli(t, "rollout", ...args);

describe("a wave that tested nothing is never passed", () => {
  it("a single-wave rollout whose only agent was forgotten waits for an operator (not completed); `rollout resume` completes it as it is", async () => {
    requireHubBin();
    const t = await session.start();
    const id = await heldSingleWave(t);
    // h1 was sent the release before it was forgotten, so it may run it: abort with rollback is
    // offered too (it names h1, and sends it back if it rejoins).
    expect(await view(t, id)).toMatchObject({
      state: "paused",
      needsDecision: true,
      actions: ["resume", "abort", "abort-rollback"],
    });
    expect(await kinds(t, id)).not.toContain("rollout.completed");
    // What the operator reads, and the watch that would otherwise wait for ever.
    const [shown, watched] = await Promise.all([cli(t, "show", id), cli(t, "show", id, "--watch")]);
    expect(shown.stdout).toContain(held);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain("waits for an operator's decision");
    const resumed = await cli(t, "resume", id);
    expect(resumed.code).toBe(0);
    expect(await view(t, id)).toMatchObject({ state: "completed", needsDecision: false });
    // Completed as the operator accepted it, saying that no host runs the release.
    const said =
      "no agent reported taking the release: 1 agent(s) forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it)";
    expect((await view(t, id)).reason).toBe(said);
    expect((await t.hub.store.getRollout(id))?.reason).toBe(said);
  });

  it("an agent forgotten before it was sent the release is said never to have taken it; one sent it, that it may run it", async () => {
    const t = await session.start();
    // s1 is sent the release; o1 is offline when the rollout starts, so it is never sent it.
    const s1 = await session.connect(t, "s1", web);
    const o1 = await session.connect(t, "o1", web);
    o1.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("o1"))?.online, { timeout: 10_000 })
      .toBe(false);
    const { id } = await create(t, [{ name: "all", percent: 100 }]);
    await forget(t, undefined, "o1");
    await forget(t, s1, "s1");
    const who = "agent(s) were forgotten by an operator (`ship-hub agents forget`)";
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toBe(
        `waiting for an operator: wave 1 (all) tested nothing: its 1 ${who} before they took the release, and 1 ${who} after they were sent the release, before reporting on it (their hosts may run it); no agent of the rollout reported taking the release: resume to complete it as it is, or abort`,
      );
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    const done = "agent(s) forgotten by an operator (`ship-hub agents forget`)";
    expect((await view(t, id)).reason).toBe(
      `no agent reported taking the release: 1 ${done} before they took the release; 1 ${done} after they were sent the release, before reporting on it (their hosts may run it)`,
    );
  });

  it("a one-agent fleet's percent canary whose agent was forgotten is held, and the empty last wave after it does not complete by itself", async () => {
    const t = await session.start();
    const h1 = await session.connect(t, "h1", web);
    const created = await create(t, [
      { name: "canary", percent: 5 },
      { name: "rest", percent: 100 },
    ]);
    expect(created.waves[0]?.agents.map((a) => a.agentId)).toEqual(["h1"]);
    await forget(t, h1, "h1");
    await expect
      .poll(async () => (await view(t, created.id)).reason, { timeout: 10_000 })
      .toBe(
        "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) were forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it); advance or abort",
      );
    await t.hub.engine.tick();
    expect(await view(t, created.id)).toMatchObject({
      state: "running",
      currentWave: 0,
      needsDecision: true,
    });
    // Advancing accepts the canary; the last wave held nobody from the start, so no agent took the
    // release at all: not reported as completed until an operator says so.
    expect(
      (await t.api("POST", `/api/v1/rollouts/${created.id}/advance`, { token: t.operator })).status,
    ).toBe(200);
    await expect
      .poll(async () => (await view(t, created.id)).reason, { timeout: 10_000 })
      .toBe(
        "waiting for an operator: no agent of the rollout reported taking the release: its 1 agent(s) were forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it); resume to complete it as it is, or abort",
      );
    expect(await view(t, created.id)).toMatchObject({ state: "paused", currentWave: 1 });
    expect(
      (await t.api("POST", `/api/v1/rollouts/${created.id}/abort`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    expect((await view(t, created.id)).state).toBe("aborted");
    expect(await kinds(t, created.id)).not.toContain("rollout.completed");
  });

  it("a last wave emptied after the canary passed is held, not completed", async () => {
    const t = await session.start();
    const c1 = await session.connect(t, "c1", web);
    const w1 = await session.connect(t, "w1", web);
    const { id } = await create(t, [
      { name: "canary", agents: ["c1"] },
      { name: "rest", percent: 100 },
    ]);
    await reportAcked(c1, await c1.next(isType("deploy")), "succeeded");
    await forget(t, w1, "w1");
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toBe(
        "waiting for an operator: wave 2 (rest) tested nothing: its 1 agent(s) were forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it); resume to complete the rollout without them, or abort",
      );
    expect(await view(t, id)).toMatchObject({ state: "paused", currentWave: 1, needsDecision: true });
    expect(await kinds(t, id)).toContain("rollout.waiting");
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    expect((await view(t, id)).state).toBe("completed");
    // Passing it is said, as for any wave that held no agent.
    expect(await kinds(t, id)).toContain("rollout.wave_empty");
  });

  it("an agent relabelled out of the selector after it was sent the release is not said never to have been sent it", async () => {
    // The README: "an agent relabelled out of the selector after it was sent the release still
    // carries it out". The words counted forgotten ones sent the release apart, but said of this
    // one "no agent … took the release" and, once completed, "not sent the release".
    const t = await session.start();
    const r1 = await session.connect(t, "r1", web, { ring: "main" });
    const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: await publishRelease(t, "2.0.0"),
        selector: { labels: { ring: "main" } },
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    expect(created.status).toBe(201);
    const { id } = created.body;
    await r1.next(isType("deploy"));
    r1.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("r1"), { timeout: 10_000 }).toBe(false);
    await session.connect(t, "r1", web, { ring: "canary" });
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toMatch(
        /^waiting for an operator: wave 1 \(all\) tested nothing: its 1 agent\(s\) no longer take part/,
      );
    expect((await view(t, id)).reason).not.toContain("no agent of the rollout took the release");
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    const reason = (await view(t, id)).reason ?? "";
    expect(reason).not.toContain("not sent the release");
    expect(reason).not.toMatch(/^no agent took the release/);
  });

  it("a single-wave rollout whose agent came back without the app (not applicable) is held, not completed", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1", web);
    a1.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(false);
    const { id } = await create(t, [{ name: "all", percent: 100 }]);
    await session.connect(t, "a1", other);
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toMatch(
        /^waiting for an operator: wave 1 \(all\) tested nothing: its 1 agent\(s\) no longer take part/,
      );
    expect((await view(t, id)).state).toBe("paused");
  });
  it("an agent that rejoins a held last wave is sent the release on resume, and its success completes the rollout", async () => {
    const t = await session.start();
    const h1 = await session.connect(t, "h1", web);
    const { id } = await create(t, [{ name: "all", percent: 100 }]);
    await forget(t, h1, "h1");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    // Back with a new token while the rollout is held: owed the release again, sent on resume.
    const back = await session.connect(t, "h1", web);
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    const deploy = await back.next(isType("deploy"));
    expect(await view(t, id)).toMatchObject({ state: "running", reason: null });
    await reportAcked(back, deploy, "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    expect((await view(t, id)).reason).toBeNull();
  });

  it("without autoAdvance a middle wave whose agents were all forgotten says why it waits (reason, needsDecision, rollout.waiting), as a held last wave does", async () => {
    requireHubBin();
    const t = await session.start();
    const { c1, id } = await canaryOfC1WithoutAutoAdvance(t);
    await forget(t, c1, "c1");
    const waiting =
      "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) were forgotten by an operator (`ship-hub agents forget`) after they were sent the release, before reporting on it (their hosts may run it); advance or abort";
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(waiting);
    expect(await view(t, id)).toMatchObject({ state: "running", currentWave: 0, needsDecision: true });
    expect(await kinds(t, id)).toContain("rollout.waiting");
    const shown = await cli(t, "show", id);
    expect(shown.stdout).toContain(waiting);
    // The operator's advance passes it: the reason of the wave it left no longer holds.
    expect((await cli(t, "advance", id)).code).toBe(0);
    expect(await view(t, id)).toMatchObject({ currentWave: 1, reason: null, needsDecision: false });
  });

  it("without autoAdvance a middle wave whose only agent no longer takes the app (not applicable) says it tested nothing", async () => {
    const t = await session.start();
    const { c1, id } = await canaryOfC1WithoutAutoAdvance(t);
    await c1.next(isType("deploy"));
    c1.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
    await session.connect(t, "c1", other);
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toMatch(
        /^waiting for an operator: wave 1 \(canary\) tested nothing: its 1 agent\(s\) no longer take part .*; advance or abort$/,
      );
    expect((await view(t, id)).needsDecision).toBe(true);
  });

  it("a held last wave's reason is judged again when its forgotten agent rejoins (owed the release on resume), and again when it is forgotten once more", async () => {
    requireHubBin();
    const t = await session.start();
    const id = await heldSingleWave(t);
    const back = await session.connect(t, "h1", web);
    const rejoined =
      "waiting for an operator: the rollout was held because it tested nothing, and 1 agent(s) joined it or came back since: resume to send them the release, or abort";
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(rejoined);
    // Owed the release again after it was sent it once (it may still carry that instruction out):
    // abort with rollback reaches it, so it is offered.
    expect(await view(t, id)).toMatchObject({
      state: "paused",
      needsDecision: true,
      actions: ["resume", "abort", "abort-rollback"],
    });
    expect((await cli(t, "show", id)).stdout).toContain(rejoined);
    // Gone and forgotten again before the resume: the hold's own words are true again.
    back.ws.terminate();
    await forget(t, undefined, "h1");
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(held);
    expect((await kinds(t, id)).filter((k) => k === "rollout.waiting")).toHaveLength(3);
  });
});
