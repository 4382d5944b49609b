/**
 * Operator actions through the real hub HTTP API against the state machine's table
 * (hub/rollouts/states.ts): an action the table does not allow from the rollout's state is a 409
 * naming that state and what is allowed now, and changes nothing; the view says which actions
 * are allowed and whether the rollout is final.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHubCli } from "../../support/hub-cli.js";
import {
  canaryThenRest,
  isType,
  onlineAgents,
  publishRelease,
  reportAcked,
  startTestHub,
  TestAgent,
  type TestHub,
} from "./support.js";

let t: TestHub;
beforeEach(async () => {
  t = await startTestHub();
});
afterEach(async () => {
  await t.stop();
});

interface View {
  state: string;
  final: boolean;
  actions: string[];
  currentWave: number;
  error?: string;
  progress: { failed: number };
}

const publish = (version: string): Promise<string> => publishRelease(t, version);

const report = reportAcked;

const path = (id: string, action = "") => `/api/v1/rollouts/${id}${action ? `/${action}` : ""}`;
const act = (id: string, action: string, body: unknown = {}) =>
  t.api<View>("POST", path(id, action), { token: t.operator, body });
const view = async (id: string) => (await t.api<View>("GET", path(id), { token: t.operator })).body;

/** A refused action: 409, the message names the state and the allowed actions, the state is unchanged. */
async function refused(id: string, action: string, state: string, allowed: RegExp, body: unknown = {}) {
  const before = await view(id);
  const res = await act(id, action, body);
  expect({ action, status: res.status }).toEqual({ action, status: 409 });
  // Beside the state: the change that made it so, when and by whom (`paused 3 s ago by ops (…)`).
  expect(res.body.error).toMatch(new RegExp(`^rollout ${id} is ${state} \\([a-z]+ \\d+ s ago by [^:]+\\): `));
  expect(res.body.error).toMatch(allowed);
  expect(await view(id)).toEqual(before);
}

describe("rollout actions follow the state machine's table", () => {
  it("advance, pause, resume and abort are refused with 409 naming the state outside the states they apply to", async () => {
    const v1 = await publish("1.0.0");
    const v2 = await publish("2.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(true);
    const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "nobody", labels: { ring: "none" } },
          { name: "all", percent: 100 },
        ],
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // Nobody was sent the release yet: abort with rollback would roll nothing back, so it is not
    // offered, and asked for it is a 409 saying so (a plain abort ends it).
    expect(created.body).toMatchObject({
      state: "running",
      final: false,
      actions: ["advance", "pause", "abort"],
    });
    const nothing = await act(id, "abort", { rollback: true });
    expect(nothing).toMatchObject({
      status: 409,
      body: {
        error: `rollout ${id} is running and has nothing to roll back: none of its agents was sent the release or left on it; abort it without rollback to end it`,
      },
    });
    expect(await view(id)).toMatchObject({ state: "running", actions: ["advance", "pause", "abort"] });

    await refused(
      id,
      "resume",
      "running",
      /resume applies to a paused rollout; allowed now: advance, pause, abort/,
    );
    expect((await act(id, "pause")).body).toMatchObject({
      state: "paused",
      actions: ["resume", "abort"],
    });
    await refused(
      id,
      "advance",
      "paused",
      /advance applies to a running rollout; allowed now: resume, abort/,
    );
    await refused(id, "pause", "paused", /pause applies to a running rollout/);
    // A second operator's pause: who paused it, and when, not only that it is paused.
    const paused = (await t.hub.store.listEvents({ subject: id, limit: 10 })).find(
      (e) => e.kind === "rollout.paused",
    );
    expect((await act(id, "pause")).body.error).toMatch(
      new RegExp(
        `^rollout ${id} is paused \\(paused \\d s ago by ${paused?.actor.replace(/[()]/g, "\\$&")}\\): pause applies`,
      ),
    );
    expect((await act(id, "resume")).status).toBe(200);
    expect((await act(id, "resume")).body.error).toMatch(
      / is running \(resumed \d s ago by .+\): resume applies/,
    );
    expect((await act(id, "advance")).body).toMatchObject({
      state: "running",
      currentWave: 1,
      // The last wave: nothing to advance to, so advance is not offered (it is a 409).
      actions: ["pause", "abort", "abort-rollback"],
    });
    expect((await act(id, "advance")).body.error).toBe(
      `rollout ${id} is in its last wave, wave 2 (all): there is no next wave to advance to; it completes once its agents finish (allowed now: pause, abort, abort with rollback)`,
    );
    await report(agent, await agent.next(isType("deploy")), "succeeded");
    await expect.poll(async () => (await view(id)).state, { timeout: 10_000 }).toBe("completed");
    expect(await view(id)).toMatchObject({ final: true, actions: ["abort-rollback"] });

    // A finished rollout cannot be aborted (its outcome stays), only taken back with a rollback.
    for (const action of ["advance", "pause", "resume", "abort"])
      await refused(id, action, "completed", /allowed now: abort with rollback$/);
    const back = await act(id, "abort", { rollback: true });
    // Every agent it updated is sent back: nothing is left to roll back, so nothing is offered.
    expect(back.body).toMatchObject({ state: "aborted", final: true, actions: [] });
    expect(await agent.next(isType("deploy"))).toMatchObject({ rollback: true, release: { id: v1 } });
    await refused(
      id,
      "abort",
      "aborted",
      /abort applies to a running or paused rollout; nothing is allowed now \(none of its agents is left to roll back\)$/,
    );
    agent.ws.close();
  });

  it("a finished rollout offers abort with rollback while it has something to do: once the hub said who it cannot send back, nothing is offered and asking again is a 409 that keeps the reason", async () => {
    const v2 = await publish("2.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    // It runs a version the hub has no release of: there is nothing to send it back to.
    agent.hello("a1", [{ app: "web", version: "0.9.0", state: "ok", releaseId: undefined }]);
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(true);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    await report(agent, await agent.next(isType("deploy")), "succeeded");
    await expect.poll(async () => (await view(id)).state, { timeout: 10_000 }).toBe("completed");
    // The first request has something to do: record, naming the agent, that it cannot go back.
    expect(await view(id)).toMatchObject({ final: true, actions: ["abort-rollback"] });
    const first = await act(id, "abort", { rollback: true });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      state: "aborted",
      reason:
        "aborted; rollback sent to 0 agent(s); 1 agent(s) NOT rolled back (no previous release known): a1",
      actions: [],
    });
    const list = await t.api<{ rollouts: View[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts[0]).toMatchObject({ state: "aborted", actions: [] });
    // Asked again (an old dashboard, a script): 409, and the stored outcome stays.
    const before = await view(id);
    const res = await act(id, "abort", { rollback: true });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(
      /has nothing to roll back: .*found impossible to send back by an earlier rollback/,
    );
    expect(await view(id)).toEqual(before);
    await refused(id, "pause", "aborted", /nothing is allowed now/);
    agent.ws.close();
  });

  it("abort with rollback while an update is still out: an agent it cannot send back is named as not rolled back after its success report too", async () => {
    const v2 = await publish("2.0.0");
    const agents = [await TestAgent.connect(t.hub.url, await t.agentToken("a1"))];
    agents.push(await TestAgent.connect(t.hub.url, await t.agentToken("a2")));
    // They run a version the hub has no release of: there is nothing to send them back to.
    for (const [i, agent] of agents.entries())
      agent.hello(`a${i + 1}`, [{ app: "web", version: "0.9.0", state: "ok", releaseId: undefined }]);
    await expect.poll(() => t.hub.registry.isOnline("a1") && t.hub.registry.isOnline("a2")).toBe(true);
    const [a1, a2] = agents as [TestAgent, TestAgent];
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    await report(a1, await a1.next(isType("deploy")), "succeeded");
    const inFlight = await a2.next(isType("deploy"));
    const aborted = await act(id, "abort", { rollback: true });
    const reason =
      "aborted; rollback sent to 0 agent(s); 2 agent(s) NOT rolled back (no previous release known): a1, a2";
    expect(aborted.body).toMatchObject({ state: "aborted", reason });
    // a2's update was still out: it finishes, and the agent is on 2.0.0, not rolled back.
    await report(a2, inFlight, "succeeded");
    type Shown = View & {
      reason: string;
      notRolledBack: string[];
      waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
    };
    const shown = (await t.api<Shown>("GET", path(id), { token: t.operator })).body;
    const impossible = "not rolled back: the hub has no release of the version it ran before";
    expect({
      reason: shown.reason,
      notRolledBack: shown.notRolledBack,
      rows: shown.waves[0]?.agents.map((a) => [a.agentId, a.state, a.error]),
    }).toEqual({
      reason,
      notRolledBack: ["a1", "a2"],
      rows: [
        ["a1", "succeeded", impossible],
        ["a2", "succeeded", impossible],
      ],
    });
    for (const agent of agents) agent.ws.close();
  });

  it("a rollout that failed (halted with auto-rollback) allows no action: its rollback was already sent", async () => {
    const v1 = await publish("1.0.0");
    const v3 = await publish("3.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(true);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v3,
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
        autoRollback: true,
      },
    });
    const id = created.body.id;
    await report(agent, await agent.next(isType("deploy")), "failed");
    await expect.poll(async () => (await view(id)).state, { timeout: 10_000 }).toBe("failed");
    expect(await view(id)).toMatchObject({ final: true, actions: [] });
    await refused(id, "abort", "failed", /a failed rollout allows no action$/, { rollback: true });
    await refused(id, "abort", "failed", /abort applies to a running or paused rollout/);
    agent.ws.close();
  });

  it("a 409 offers only what the hub accepts now: no advance in the last wave, no abort with rollback while nobody is on the release", async () => {
    const v2 = await publish("2.0.0");
    // Known but offline: its deployment waits, unsent, so nobody could be sent back.
    const away = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    away.hello("a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
    await expect.poll(() => t.hub.registry.isOnline("a1")).toBe(true);
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a1")).toBe(false);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    expect(await view(id)).toMatchObject({ state: "running", actions: ["pause", "abort"] });
    await refused(id, "resume", "running", /resume applies to a paused rollout; allowed now: pause, abort$/);
    expect((await act(id, "advance")).body.error).toBe(
      `rollout ${id} is in its last wave, wave 1 (all): there is no next wave to advance to; it completes once its agents finish (allowed now: pause, abort)`,
    );
  });

  it("a pause that lands after the rollout left the operator's wave still pauses, and says which wave it paused and that its agents already had the release", async () => {
    const { id, agents } = await canaryThenRest(t);
    // Another operator (or auto-advance) moves it on while this one decides to pause the canary.
    expect((await act(id, "advance", { fromWave: 0 })).status).toBe(200);
    await agents[1]?.next(isType("deploy"));
    const cli = (...args: string[]) =>
      runHubCli(t.dir, ["rollout", ...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const late = `paused in wave 2 (rest), not wave 1 (canary): the rollout moved on before the pause arrived (advanced by itself or by another operator), and 1 agent(s) of wave 2 (rest) were already sent the release (they finish their update)`;
    const paused = await cli("pause", id, "--from-wave", "1");
    expect(paused.code).toBe(0);
    expect(paused.stderr).toContain(`warning: ${late}`);
    expect(await view(id)).toMatchObject({
      state: "paused",
      reason: `paused by an operator ${late.slice(7)}`,
    });
    // Paused in the wave the operator saw: nothing to warn of. A wave it has not reached is refused.
    await act(id, "resume");
    expect((await act(id, "pause", { fromWave: 1 })).body).toMatchObject({
      state: "paused",
      reason: "paused by an operator",
    });
    expect((await act(id, "pause", { fromWave: 1 })).body).not.toHaveProperty("warnings");
    await act(id, "resume");
    expect(await act(id, "pause", { fromWave: 5 })).toMatchObject({
      status: 400,
      body: {
        error: `body.fromWave: rollout ${id} has 2 wave(s), wave 1 (canary) to wave 2 (rest) (fromWave 5 would be wave 6)`,
      },
    });
    expect(await view(id)).toMatchObject({ state: "running" });
    for (const a of agents) a.ws.terminate();
  });

  it("an abort that lands after the rollout left the operator's wave still aborts, and says which wave it stopped and that its agents already had the release", async () => {
    const { id, agents } = await canaryThenRest(t);
    // A wave the rollout never had, or has not reached, is refused as advance refuses it: nothing changes.
    expect(await act(id, "abort", { fromWave: 5 })).toMatchObject({
      status: 400,
      body: {
        error: `body.fromWave: rollout ${id} has 2 wave(s), wave 1 (canary) to wave 2 (rest) (fromWave 5 would be wave 6)`,
      },
    });
    expect(await act(id, "abort", { fromWave: 1 })).toMatchObject({
      status: 409,
      body: { error: `rollout ${id} is in wave 1 (canary): it has not reached wave 2 (rest)` },
    });
    expect(await view(id)).toMatchObject({ state: "running", currentWave: 0 });
    // Another operator (or auto-advance) moves it on while this one decides to abort the canary.
    expect((await act(id, "advance", { fromWave: 0 })).status).toBe(200);
    await agents[1]?.next(isType("deploy"));
    const cli = (...args: string[]) =>
      runHubCli(t.dir, ["rollout", ...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const late = `aborted in wave 2 (rest), not wave 1 (canary): the rollout moved on before the abort arrived (advanced by itself or by another operator), and 1 agent(s) of wave 2 (rest) were already sent the release (they finish their update)`;
    const aborted = await cli("abort", id, "--from-wave", "1");
    expect(aborted.code).toBe(0);
    expect(aborted.stderr).toContain(`warning: ${late}`);
    expect(await view(id)).toMatchObject({ state: "aborted", reason: `aborted ${late.slice(8)}` });
    for (const a of agents) a.ws.terminate();
  });

  it("an abort without --from-wave is late when the wave started after the command did (decidedMsAgo)", async () => {
    const { id, agents } = await canaryThenRest(t);
    expect((await act(id, "advance", { fromWave: 0 })).status).toBe(200);
    // Decided a minute ago, before wave 2 started: the answer warns; a decision made now does not.
    const late = await act(id, "abort", { decidedMsAgo: 60_000 });
    expect(late.status).toBe(200);
    expect((late.body as View & { warnings?: string[] }).warnings?.[0]).toMatch(
      /^aborted in wave 2 \(rest\), not wave 1 \(canary\): the rollout moved on before the abort arrived/,
    );
    for (const a of agents) a.ws.terminate();
  });

  it("a resume decided on fewer failures than there are now is refused (409) instead of accepting failures nobody saw", async () => {
    const v2 = await publish("2.0.0");
    const agents = await onlineAgents(t, "a1", "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", agents: ["a1", "a2"] }], failureThreshold: { count: 1 } },
    });
    const id = created.body.id;
    const deploy = await agents[0]?.next(isType("deploy"));
    // Paused with nothing failed; a failure lands while it stands paused and halts it.
    expect((await act(id, "pause")).status).toBe(200);
    if (agents[0] && deploy) await report(agents[0], deploy, "failed");
    await expect.poll(async () => (await view(id)).progress.failed).toBe(1);
    const refusal = await runHubCli(
      t.dir,
      ["rollout", "resume", id, "--failed-seen", "0", "--hub", t.hub.url],
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect(refusal.code).toBe(2);
    expect(refusal.stderr).toBe(
      `ship-hub: hub answered 409: rollout ${id} has 1 failed agent(s) now, not the 0 this resume was decided on (failure threshold (1 failure(s)) reached: 1 failed when it halted (while paused by an operator)): look at them, and resume again to accept all 1\n`,
    );
    expect(await view(id)).toMatchObject({ state: "paused" });
    expect((await act(id, "resume", { failedSeen: 1 })).body).toMatchObject({ state: "running" });
    for (const a of agents) a.ws.terminate();
  });

  it("a resume after a pause by hand accepts no failure, so a count of failures it was not shown refuses nothing", async () => {
    const v2 = await publish("2.0.0");
    const agents = await onlineAgents(t, "a1", "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", agents: ["a1", "a2"] }], failureThreshold: { count: 2 } },
    });
    const id = created.body.id;
    const deploy = await agents[0]?.next(isType("deploy"));
    expect((await act(id, "pause")).status).toBe(200);
    if (agents[0] && deploy) await report(agents[0], deploy, "failed");
    await expect.poll(async () => (await view(id)).progress.failed).toBe(1);
    const resumed = await act(id, "resume", { failedSeen: 0 });
    expect(resumed.body).toMatchObject({ state: "running", acceptedFailures: 0, failedBefore: 1 });
    expect((await view(id)) as View & { counted: { accepted: number } }).toMatchObject({
      counted: { accepted: 0 },
    });
    for (const a of agents) a.ws.terminate();
  });

  it("a resume says which failures it accepts: not those of waves not started yet, which count when their wave starts", async () => {
    await publish("1.0.0");
    const v2 = await publish("2.0.0");
    const agents = await onlineAgents(t, "c1", "r1");
    // b1's update to 2.0.0 failed and was left installed: planned failed in the rest wave.
    const b1 = await TestAgent.connect(t.hub.url, await t.agentToken("b1"));
    agents.push(b1);
    b1.hello("b1", [{ app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: v2 }]);
    await expect.poll(() => t.hub.registry.isOnline("b1")).toBe(true);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["c1"] },
          { name: "rest", agents: ["b1", "r1"] },
        ],
        failureThreshold: { count: 1 },
      },
    });
    const id = created.body.id;
    const deploy = await agents[0]?.next(isType("deploy"));
    if (agents[0] && deploy) await report(agents[0], deploy, "failed");
    await expect.poll(async () => (await view(id)).state).toBe("paused");
    const cli = (...args: string[]) =>
      runHubCli(t.dir, [...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const resumed = await cli("rollout", "resume", id);
    // It said "resumed with 2 failure(s) so far accepted": b1's was not, as the advance shows.
    expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({
      code: 0,
      stderr:
        "note: resumed with 1 failure(s) so far accepted: only failures from now on count toward the threshold\n" +
        "note: 1 failure(s) in waves not started yet are not accepted: they count toward the threshold when their wave starts\n",
    });
    expect((await act(id, "advance")).body).toMatchObject({ state: "paused" });
    expect((await view(id)) as View & { reason: string }).toMatchObject({
      reason:
        "failure threshold (1 failure(s)) reached: 2 failed when it halted (1 accepted on a resume, not counted)",
    });
    for (const a of agents) a.ws.terminate();
  });

  it("a resume that starts the next wave (auto-advance) does not say that wave's failures are accepted", async () => {
    await publish("1.0.0");
    const v2 = await publish("2.0.0");
    const agents = await onlineAgents(t, "c1", "r1");
    // b1's update to 2.0.0 failed and was left installed: planned failed in the rest wave.
    const b1 = await TestAgent.connect(t.hub.url, await t.agentToken("b1"));
    agents.push(b1);
    b1.hello("b1", [{ app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: v2 }]);
    await expect.poll(() => t.hub.registry.isOnline("b1")).toBe(true);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["c1"], minSuccessRate: 0 },
          { name: "rest", agents: ["b1", "r1"] },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    const deploy = await agents[0]?.next(isType("deploy"));
    if (agents[0] && deploy) await report(agents[0], deploy, "failed");
    await expect.poll(async () => (await view(id)).state).toBe("paused");
    const cli = (...args: string[]) =>
      runHubCli(t.dir, [...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const resumed = await cli("rollout", "resume", id);
    // The resume accepted c1's failure and advanced to rest, where b1's counts and halts it again:
    // read off the view after it, both were said to be accepted ("resumed with 2 failure(s)").
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^wave +2\/2 rest/m);
    expect(resumed.stderr).toBe(
      "note: resumed with 1 failure(s) so far accepted: only failures from now on count toward the threshold\n" +
        "note: 1 failure(s) in wave 2 (rest), which started on this resume, are not accepted: they count toward the threshold\n",
    );
    for (const a of agents) a.ws.terminate();
  });

  it("a timeout that fell due while paused, which no view shows, does not refuse a resume decided on what they show: it is named, and counts after a pause by hand", async () => {
    // A paused rollout times nobody out, so the views showed 0 failed while the resume counted the
    // timeout first: `--failed-seen 0` (and the dashboard's Resume, which always sends it) was a
    // 409 "has 1 failed agent(s) now, not the 0" at every try, the views never showing that one.
    const short = await startTestHub({ offlineTimeoutMs: 1000 });
    const agents = await onlineAgents(short, "a1", "a2");
    try {
      const v2 = await publishRelease(short, "2.0.0");
      agents[0]?.ws.terminate();
      await expect.poll(() => short.hub.registry.isOnline("a1")).toBe(false);
      const created = await short.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: short.operator,
        body: {
          release: v2,
          waves: [
            { name: "canary", agents: ["a1"] },
            { name: "rest", agents: ["a2"] },
          ],
          failureThreshold: { count: 2 },
        },
      });
      const id = created.body.id;
      const paused = await short.api("POST", path(id, "pause"), { token: short.operator, body: {} });
      expect(paused.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const shown = await short.api<{ progress: { failed: number } }>("GET", path(id), {
        token: short.operator,
      });
      expect(shown.body.progress.failed).toBe(0);
      const resumed = await runHubCli(
        short.dir,
        ["rollout", "resume", id, "--failed-seen", "0", "--hub", short.hub.url],
        { SHIP_HUB_TOKEN: short.operator },
      );
      expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({
        code: 0,
        stderr:
          "warning: 1 agent(s) stayed offline or silent past their timeout while the rollout stood paused (a1): counted as failed now, toward the threshold (the rollout was paused, not halted on it)\n" +
          "note: 1 failure(s) so far still count toward the threshold: the rollout was paused, not halted on it, and a resume accepts failures only after a halt\n",
      });
      // Its canary's one agent never answered: it waits for an operator, as any such wave does.
      expect(resumed.stdout).toMatch(
        /^state {4}running — waiting for an operator: wave 1 \(canary\) tested nothing/m,
      );
      expect(resumed.stdout).toMatch(/^a1 +timed_out +no .*agent offline for \d+ s \(timeout 1 s\)$/m);
    } finally {
      for (const a of agents) a.ws.terminate();
      await short.stop();
    }
  });
});
