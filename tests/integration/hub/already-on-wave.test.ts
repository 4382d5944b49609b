/**
 * A wave whose agents all ran the release already (planned succeeded at create, or found on it
 * before they were sent it) tested nothing, as a wave left empty did: it used to "pass" at once and
 * hand the release to the next wave untested. So did a wave whose only other agents stayed away
 * (timed out, never having answered). Real hub (in process), real agent channel over a real
 * WebSocket, real SQLite; the built CLI for what an operator reads.
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

type View = {
  state: string;
  currentWave: number;
  reason: string | null;
  needsDecision: boolean;
  actions: string[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;

async function create(
  t: TestHub,
  body: Record<string, unknown>,
): Promise<{ id: string; warnings: string[] }> {
  const created = await t.api<{ id: string; warnings: string[] }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release: await publishRelease(t, "2.0.0"), failureThreshold: { count: 1 }, ...body },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const canaryThenRest = [
  { name: "canary", agents: ["c1"] },
  { name: "rest", percent: 100 },
];

const cli = (t: TestHub, ...args: string[]) => operatorCli(t, "rollout", ...args);

describe("a wave whose agents ran the release already tested nothing", () => {
  it("an auto-advancing canary all on the release waits for an operator instead of passing: API, CLI and the next wave say so", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "c1", on("2.0.0"));
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id, warnings } = await create(t, { waves: canaryThenRest, autoAdvance: true });
    // Said before it starts, as the engine will act on it.
    expect(warnings).toEqual([
      "body.waves[0] (canary): every agent of it runs web 2.0.0 already (c1): nothing is sent to it, so it tests nothing; auto-advance does not pass it (it waits for an operator), and advancing by hand sends the release to wave 2 (rest) untested",
    ]);
    const waiting =
      "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing; advance or abort";
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(waiting);
    await t.hub.engine.tick();
    expect(await view(t, id)).toMatchObject({ state: "running", currentWave: 0, needsDecision: true });
    expect(w1.received.filter((m) => m.type === "deploy")).toEqual([]);
    const [shown, watched] = await Promise.all([cli(t, "show", id), cli(t, "show", id, "--watch")]);
    expect(shown.stdout).toContain(waiting);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain("waits for an operator's decision");
    // The operator's advance passes it, knowingly.
    expect((await cli(t, "advance", id)).code).toBe(0);
    await w1.next(isType("deploy"));
    expect(await view(t, id)).toMatchObject({ currentWave: 1, reason: null, needsDecision: false });
  });

  it("an agent found on the release before it was sent (it came back updated by hand) tested nothing either", async () => {
    const t = await session.start();
    const away = await session.connect(t, "c1", on("1.0.0"));
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id } = await create(t, { waves: canaryThenRest, autoAdvance: true });
    // Back on 2.0.0: found installed, succeeded without being sent anything.
    const back = await session.connect(t, "c1", on("2.0.0"));
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toBe(
        "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing; advance or abort",
      );
    await t.hub.engine.tick();
    expect(await view(t, id)).toMatchObject({ currentWave: 0, needsDecision: true });
    expect([...back.received, ...w1.received].filter((m) => m.type === "deploy")).toEqual([]);
  });

  it("a canary whose other agent never answered (offline past its timeout) tested nothing, whatever its minSuccessRate", async () => {
    const t = await session.start({ offlineTimeoutMs: 300 });
    await session.connect(t, "c1", on("2.0.0"));
    const away = await session.connect(t, "c2", on("1.0.0"));
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("c2"), { timeout: 10_000 }).toBe(false);
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id } = await create(t, {
      waves: [
        { name: "canary", agents: ["c1", "c2"], minSuccessRate: 0 },
        { name: "rest", percent: 100 },
      ],
      failureThreshold: { count: 5 },
      autoAdvance: true,
    });
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 15_000 })
      .toBe(
        "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing, 1 agent(s) never answered (offline or silent past their timeout, counted failed); advance or abort",
      );
    await t.hub.engine.tick();
    expect(await view(t, id)).toMatchObject({ state: "running", currentWave: 0, needsDecision: true });
    expect(w1.received.filter((m) => m.type === "deploy")).toEqual([]);
  });

  it("without autoAdvance the same canary says it tested nothing (reason, needsDecision, rollout.waiting)", async () => {
    const t = await session.start();
    await session.connect(t, "c1", on("2.0.0"));
    await session.connect(t, "w1", on("1.0.0"));
    const { id, warnings } = await create(t, { waves: canaryThenRest });
    expect(warnings).toEqual([
      "body.waves[0] (canary): every agent of it runs web 2.0.0 already (c1): nothing is sent to it, so it tests nothing, and advancing passes it, sending the release to wave 2 (rest) untested",
    ]);
    await expect.poll(async () => (await view(t, id)).needsDecision, { timeout: 10_000 }).toBe(true);
    expect((await view(t, id)).reason).toMatch(
      /^waiting for an operator: wave 1 \(canary\) tested nothing: /,
    );
    const events = await t.api<{ events: { kind: string }[] }>("GET", `/api/v1/events?subject=${id}`, {
      token: t.operator,
    });
    expect(events.body.events.map((e) => e.kind)).toContain("rollout.waiting");
  });

  it("a canary whose only updated agent failed does not pass on those that ran the release already, whatever its minSuccessRate says of them", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "c1", on("2.0.0"));
    const c2 = await session.connect(t, "c2", on("1.0.0"));
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id } = await create(t, {
      // 1 of 2 succeeded reads 50 %, but c1 was sent nothing: c2, which failed, is all it tested.
      waves: [
        { name: "canary", agents: ["c1", "c2"], minSuccessRate: 0.5 },
        { name: "rest", percent: 100 },
      ],
      failureThreshold: { count: 5 },
      autoAdvance: true,
    });
    await reportAcked(c2, await c2.next(isType("deploy")), "failed");
    const waiting =
      "waiting for an operator: wave 1 (canary) finished with 0 of the 1 agent(s) it updated succeeded (0 %; 1 ran the release already and were sent nothing, not counted), below its minSuccessRate (50 %); advance or abort";
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(waiting);
    await t.hub.engine.tick();
    expect(await view(t, id)).toMatchObject({ state: "running", currentWave: 0, needsDecision: true });
    expect(w1.received.filter((m) => m.type === "deploy")).toEqual([]);
    const [shown, json] = await Promise.all([cli(t, "show", id), cli(t, "show", id, "--json")]);
    expect(shown.stdout).toContain(waiting);
    expect((JSON.parse(json.stdout) as View).reason).toBe(waiting);
  });

  it("a percent failure threshold is of the agents the rollout updates: those on the release already do not dilute it", async () => {
    const t = await session.start();
    for (const id of ["c1", "c2", "c3"]) await session.connect(t, id, on("2.0.0"));
    const c4 = await session.connect(t, "c4", on("1.0.0"));
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id } = await create(t, {
      // 1 failed of 4 reads 25 %, under 30 %; of the 1 updated it is 100 %. minSuccessRate 0, so
      // only the threshold stands between this canary and the rest of the fleet.
      waves: [
        { name: "canary", agents: ["c1", "c2", "c3", "c4"], minSuccessRate: 0 },
        { name: "rest", percent: 100 },
      ],
      failureThreshold: { percent: 30 },
      autoAdvance: true,
    });
    await reportAcked(c4, await c4.next(isType("deploy")), "failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    await t.hub.engine.tick();
    expect(await view(t, id)).toMatchObject({
      currentWave: 0,
      reason:
        "failure threshold (30% failed of the agents it updates) reached: 1 of the 1 agent(s) it updated failed when it halted (3 ran the release already and were sent nothing, not counted)",
      needsDecision: true,
    });
    expect(w1.received.filter((m) => m.type === "deploy")).toEqual([]);
  });

  it("a canary one of whose agents was updated by the rollout passes by itself, the others on the release already", async () => {
    const t = await session.start();
    await session.connect(t, "c1", on("2.0.0"));
    const c2 = await session.connect(t, "c2", on("1.0.0"));
    const w1 = await session.connect(t, "w1", on("1.0.0"));
    const { id } = await create(t, {
      waves: [
        { name: "canary", agents: ["c1", "c2"] },
        { name: "rest", percent: 100 },
      ],
      autoAdvance: true,
    });
    await reportAcked(c2, await c2.next(isType("deploy")), "succeeded");
    await w1.next(isType("deploy"));
    expect(await view(t, id)).toMatchObject({ currentWave: 1, reason: null, needsDecision: false });
  });

  it("rollout show says the base the engine counts: its rules name it, and the figures beside them are the ones the waiting reason judged", async () => {
    requireHubBin();
    const t = await session.start();
    for (const id of ["c1", "c2", "c3"]) await session.connect(t, id, on("2.0.0"));
    const c4 = await session.connect(t, "c4", on("1.0.0"));
    const c5 = await session.connect(t, "c5", on("1.0.0"));
    await session.connect(t, "w1", on("1.0.0"));
    // Of every agent of the canary, 4 of 5 succeeded (80 %) and 1 of 5 failed (20 %); of the 2 it
    // updated, 50 % and 50 %: below the 75 % it needs, short of the 60 % that halts it.
    const { id } = await create(t, {
      waves: [
        { name: "canary", agents: ["c1", "c2", "c3", "c4", "c5"], minSuccessRate: 0.75 },
        { name: "rest", percent: 100 },
      ],
      failureThreshold: { percent: 60 },
      autoAdvance: true,
    });
    await reportAcked(c4, await c4.next(isType("deploy")), "failed");
    await reportAcked(c5, await c5.next(isType("deploy")), "succeeded");
    await expect.poll(async () => (await view(t, id)).needsDecision, { timeout: 10_000 }).toBe(true);
    const reason = (await view(t, id)).reason ?? "";
    const [shown, json] = await Promise.all([cli(t, "show", id), cli(t, "show", id, "--json")]);
    const out = shown.stdout;
    expect(out).toMatch(
      /^policy +halt at 60 % failed of the agents it updates in the waves started; auto-advance on; auto-rollback off$/m,
    );
    expect(out).toMatch(
      /^counted +1 of 2 updated failed in the waves started; 3 already on 2\.0\.0, not counted$/m,
    );
    expect(out).toContain(
      "\n  passes by itself once finished with ≥ 75 % of the agents it updates succeeded (waitMinutes 0, minSuccessRate 75 %)\n  counted 1 of 2 updated succeeded; 3 already on 2.0.0, not counted\n",
    );
    // The engine's own figures, in the reason it waits with: the same two numbers as the shown ones.
    const judged =
      /finished with (\d+) of the (\d+) agent\(s\) it updated succeeded \(50 %; (\d+) ran the release already/.exec(
        reason,
      );
    expect(judged?.slice(1)).toEqual(["1", "2", "3"]);
    const detail = JSON.parse(json.stdout) as {
      counted: Record<string, number>;
      waves: { counted: Record<string, number> }[];
    };
    expect(detail.waves[0]?.counted).toEqual({ toUpdate: 2, succeeded: 1, failed: 1, alreadyOn: 3 });
    expect(detail.counted).toEqual({ toUpdate: 2, succeeded: 1, failed: 1, alreadyOn: 3, accepted: 0 });
    expect((await view(t, id)).state).toBe("running");
  });
});
