/**
 * `rollout show --watch` redraws until the rollout ends. A rollout halted on its failure threshold,
 * or an auto-advancing one whose wave finished below its minSuccessRate, does not end: only an
 * operator moves it on. A script waiting on the watch hung there for ever. It now stops with exit 1
 * and the reason on stderr. Real hub (in process), real CLI process, real WebSocket agents.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli, startHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

/** An agent on web 1.0.0 (the hello's default apps). */
const connect = (t: TestHub, id: string) => session.connect(t, id);

async function canary(t: TestHub, wave: Record<string, unknown>, failureThreshold: Record<string, number>) {
  await publishRelease(t, "1.0.0");
  const release = await publishRelease(t, "2.0.0");
  const agents = [await connect(t, "c1"), await connect(t, "c2")];
  await connect(t, "m1");
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release,
      waves: [
        { name: "canary", agents: ["c1", "c2"], ...wave },
        { name: "rest", percent: 100 },
      ],
      failureThreshold,
      autoAdvance: true,
    },
  });
  expect(created.status).toBe(201);
  const deploys = await Promise.all(agents.map((a) => a.next(isDeploy)));
  return { id: created.body.id, agents, deploys };
}

const watchArgs = (t: TestHub, id: string) => [
  "rollout",
  "show",
  id,
  "--watch",
  "--interval",
  "0.1",
  "--hub",
  t.hub.url,
];
const watch = (t: TestHub, id: string) => runHubCli(t.dir, watchArgs(t, id), { SHIP_HUB_TOKEN: t.operator });

const view = async (t: TestHub, id: string) =>
  (
    await t.api<{ state: string; reason: string | null; needsDecision: boolean }>(
      "GET",
      `/api/v1/rollouts/${id}`,
      { token: t.operator },
    )
  ).body;

describe("rollout show --watch on a rollout only an operator can move on", () => {
  it("stops with exit 1 and the reason when the rollout halted on its failure threshold", async () => {
    requireHubBin();
    const t = await session.start();
    const { id, agents, deploys } = await canary(t, {}, { count: 1 });
    await reportAcked(agents[0]!, deploys[0]!, "failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect((await view(t, id)).needsDecision).toBe(true);
    const watched = await watch(t, id);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/state\s+paused — failure threshold \(1 failure\(s\)\) reached/);
    expect(watched.stderr).toBe(
      `stopped watching: rollout ${id} waits for an operator's decision: failure threshold (1 failure(s)) reached: 1 failed when it halted; \`ship-hub rollout\` resume, abort, abort --rollback\n`,
    );
  });

  it("stops with exit 1 when a wave finished below its minSuccessRate waits for an operator", async () => {
    requireHubBin();
    const t = await session.start();
    const { id, agents, deploys } = await canary(t, { minSuccessRate: 1 }, { count: 5 });
    await reportAcked(agents[0]!, deploys[0]!, "failed");
    await reportAcked(agents[1]!, deploys[1]!, "succeeded");
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toMatch(/^waiting for an operator: /);
    const watched = await watch(t, id);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toMatch(
      new RegExp(
        `^stopped watching: rollout ${id} waits for an operator's decision: waiting for an operator: wave 1 \\(canary\\) finished with 1 of 2 succeeded .*; \`ship-hub rollout\` advance, pause, abort, abort --rollback\\n$`,
      ),
    );
  });

  it("goes on watching an aborted rollout until its rollback instructions are answered", async () => {
    requireHubBin();
    const t = await session.start();
    const { id, agents, deploys } = await canary(t, {}, { count: 5 });
    await reportAcked(agents[0]!, deploys[0]!, "succeeded");
    // Its host put the previous version back by itself: not sent back.
    await reportAcked(agents[1]!, deploys[1]!, "rolled_back");
    const aborted = await t.api<{ state: string }>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.body.state).toBe("aborted");
    const back = await agents[0]!.next(isDeploy);
    expect(back.rollback).toBe(true);
    const watching = startHubCli(t.dir, watchArgs(t, id), { SHIP_HUB_TOKEN: t.operator });
    // Once it drew the aborted rollout with its rollback under way (a fixed sleep was too short on
    // a loaded machine: the first draw came after the report, and only one view was seen).
    await expect
      .poll(() => /^c1 +rollback_pending /m.test(watching.stdout()), { timeout: 20_000 })
      .toBe(true);
    await reportAcked(agents[0]!, back, "succeeded");
    const watched = await watching.done;
    expect(watched.code).toBe(1);
    const views = watched.stdout.split(/^--- .*$/m).filter((v) => v.trim() !== "");
    expect(views.length).toBeGreaterThan(1);
    expect(views[0]).toMatch(/^c1 +rollback_pending /m);
    expect(views.at(-1)).toMatch(/^c1 +rolled_back /m);
  });

  it("goes on watching a rollout an operator paused by hand, and it needs no decision", async () => {
    const t = await session.start();
    const { id } = await canary(t, {}, { count: 1 });
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    expect(await view(t, id)).toMatchObject({ state: "paused", needsDecision: false });
  });
});
