/**
 * A decommissioned agent stayed in the fleet for good: listed by `ship-hub agents`, counted, planned
 * into every new rollout, where it timed out as a failure and halted a canary. `agents forget ID`
 * takes an offline agent out (its tokens revoked, its history kept); an online or unknown one is
 * refused by name. Real hub (in process), real agent channel, the built CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, TestAgent, type TestHub } from "./support.js";

const session = hubPerTest();
const web = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];

/** `agentId` on 1.0.0, updated to 2.0.0 by a one-wave rollout that reported success. */
async function updatedByRollout(t: TestHub, agentId: string) {
  const v1 = await publishRelease(t, "1.0.0");
  const v2 = await publishRelease(t, "2.0.0");
  const host = await session.connect(t, agentId, [
    { app: "web", version: "1.0.0", state: "ok", releaseId: v1 },
  ]);
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release: v2, waves: [{ name: "all", percent: 100 }] },
  });
  await reportAcked(host, await host.next(isType("deploy")), "succeeded");
  return { v1, v2, id: created.body.id, host };
}

describe("ship-hub agents forget", () => {
  it("forgets an offline agent (out of the list and of new rollouts, tokens revoked), refuses online and unknown ones", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "live-1", web);
    const gone = await session.connect(t, "gone-1", web);
    const rid = await publishRelease(t, "2.0.0");
    const before = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: rid,
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
        autoAdvance: false,
        autoRollback: false,
      },
    });
    expect(before.status).toBe(201);
    gone.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("gone-1"))?.online, { timeout: 10_000 })
      .toBe(false);
    const cli = (...args: string[]) =>
      runHubCli(t.dir, ["agents", ...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });

    // Independent runs, side by side: each start of the CLI costs a second or two on a loaded host.
    const [online, unknown, forgot] = await Promise.all([
      cli("forget", "live-1"),
      cli("forget", "nobody-7"),
      cli("forget", "gone-1"),
    ]);
    expect(online.code).toBe(2);
    expect(online.stderr).toMatch(
      /^ship-hub: hub answered 409: agent live-1 is online: stop it on its host first/,
    );
    expect(unknown).toMatchObject({
      code: 2,
      stderr: "ship-hub: hub answered 404: agent nobody-7 not found\n",
    });

    expect(forgot.code).toBe(0);
    expect(forgot.stdout).toMatch(/^forgot agent gone-1: out of `ship-hub agents` and of new rollouts/);
    expect(forgot.stdout).toMatch(/revoked its 1 agent token\(s\): /);
    // The rollout under way no longer waits for it, nor counts it as a failure: said, and shown.
    expect(forgot.stderr).toBe("");
    expect(forgot.stdout).toContain(
      `its unfinished deployment in rollout(s) ${before.body.id} is now forgotten: not a failure nor a success`,
    );
    const held = await t.hub.store.getDeployment(`${before.body.id}:gone-1`);
    expect(held).toMatchObject({ state: "forgotten" });
    expect(held?.error).toMatch(
      /^agent forgotten by .+ at \d{4}-\d\d-\d\dT\S+ \(`ship-hub agents forget`\): not updated by this rollout/,
    );
    await t.api("POST", `/api/v1/rollouts/${before.body.id}/abort`, {
      token: t.operator,
      body: { rollback: false },
    });
    // Once only: a second forget says when the first was, not "not found".
    const twice = await t.api<{ error: string }>("POST", "/api/v1/agents/gone-1/forget", {
      token: t.operator,
      body: {},
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatch(
      /^agent gone-1 was forgotten already, \d+ s ago by .+ \(\d{4}-\d\d-\d\dT[^)]*\): nothing to do/,
    );

    const listed = JSON.parse((await cli("--json")).stdout) as { id: string }[];
    expect(listed.map((a) => a.id)).toEqual(["live-1"]);
    const page = await t.api<{ fleet: number }>("GET", "/api/v1/agents", { token: t.operator });
    expect(page.body.fleet).toBe(1);
    const page1 = await t.api<{ forgottenAt: string; deployments: unknown[] }>(
      "GET",
      "/api/v1/agents/gone-1",
      {
        token: t.operator,
      },
    );
    expect(page1.body.forgottenAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(page1.body.deployments).toHaveLength(1);
    // Its past deployment stays in the first rollout's history.
    const history = await t.api("GET", `/api/v1/rollouts/${before.body.id}`, {
      token: t.operator,
    });
    expect(JSON.stringify(history.body)).toContain("gone-1");
    const after = await t.api<{ id: string; warnings: string[] }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: rid,
        waves: [
          { name: "canary", agents: ["gone-1"] },
          { name: "all", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: false,
        autoRollback: false,
      },
    });
    expect(after.status).toBe(201);
    // Named by an agents wave, it is said to be forgotten, not "never registered (a typo?)".
    expect(after.body.warnings).toContain(
      "body.waves[0].agents (canary): gone-1 was forgotten (`ship-hub agents forget`); taken only if it connects again while the rollout runs",
    );
    const planned = await t.hub.store.listDeployments({ rolloutId: after.body.id });
    expect(planned.map((d) => d.agentId)).toEqual(["live-1"]);

    // Its revoked token no longer opens the channel; a new one brings it back, as the same agent.
    const events = await t.api<{ events: { kind: string; data: { revokedTokens: string[] } }[] }>(
      "GET",
      "/api/v1/events?subject=gone-1",
      { token: t.operator },
    );
    const revoked = events.body.events.find((e) => e.kind === "agent.forgotten")?.data.revokedTokens ?? [];
    expect(revoked).toHaveLength(1);
    const tokens = await t.hub.store.listTokens();
    expect(tokens.filter((k) => k.agentId === "gone-1").every((k) => k.revoked !== null)).toBe(true);
    const back = await session.connect(t, "gone-1", web);
    expect(back).toBeInstanceOf(TestAgent);
    const again = await t.api<{ agents: { id: string }[] }>("GET", "/api/v1/agents", { token: t.operator });
    expect(again.body.agents.map((a) => a.id)).toEqual(["gone-1", "live-1"]);
  });

  it("takes the agent out of rollouts under way: a canary of it alone tested nothing (held, not passed nor failed); it is owed the release again when it rejoins", async () => {
    const t = await session.start();
    const canary = await session.connect(t, "c1", web);
    await session.connect(t, "w1", web);
    const rid = await publishRelease(t, "2.0.0");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: rid,
        waves: [
          { name: "canary", agents: ["c1"] },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await canary.next(isType("deploy"));
    canary.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("c1"))?.online, { timeout: 10_000 })
      .toBe(false);
    const forgot = await t.api<{ activeRollouts: string[] }>("POST", "/api/v1/agents/c1/forget", {
      token: t.operator,
      body: {},
    });
    expect(forgot.body.activeRollouts).toEqual([id]);
    // Its silence is no test of the release: the canary is not passed to w1 untested, nor failed.
    type View = {
      state: string;
      currentWave: number;
      reason: string | null;
      waves: { progress: Record<string, number> }[];
    };
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect
      .poll(async () => (await view()).reason, { timeout: 10_000 })
      .toMatch(
        /^waiting for an operator: wave 1 \(canary\) tested nothing: its 1 agent\(s\) were forgotten by an operator/,
      );
    expect(await view()).toMatchObject({ state: "running", currentWave: 0 });
    expect((await view()).waves[0]?.progress).toMatchObject({ forgotten: 1, failed: 0, succeeded: 0 });

    // Back with a new token: owed the release once more, and sent it.
    const back = await session.connect(t, "c1", web);
    const deploy = await back.next(isType("deploy"));
    expect(deploy.deploymentId).toBe(`${id}:c1`);
    expect((await t.hub.store.getDeployment(`${id}:c1`))?.state).toBe("sent");
  });

  it("a percent canary held because its agent was forgotten takes the next matching agent that joins, instead of a later wave getting it untested", async () => {
    const t = await session.start();
    const hosts = new Map([
      ["h1", await session.connect(t, "h1", web)],
      ["h2", await session.connect(t, "h2", web)],
    ]);
    const rid = await publishRelease(t, "2.0.0");
    type View = {
      currentWave: number;
      reason: string | null;
      waves: { agents: { agentId: string }[] }[];
    };
    const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: rid,
        waves: [
          { name: "canary", percent: 5 },
          { name: "rest", percent: 100 },
        ],
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    const canaryId = created.body.waves[0]?.agents[0]?.agentId ?? "";
    const canary = hosts.get(canaryId);
    await canary?.next(isType("deploy"));
    canary?.ws.terminate();
    // The forget route reads the stored presence, which the close reaches after the registry.
    await expect
      .poll(async () => (await t.hub.store.getAgent(canaryId))?.online, { timeout: 10_000 })
      .toBe(false);
    expect(
      (await t.api("POST", `/api/v1/agents/${canaryId}/forget`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => (await view()).reason, { timeout: 10_000 }).toMatch(/tested nothing/);
    // A newcomer is the canary now: sent the release at once, and its success passes the wave.
    const joiner = await session.connect(t, "n1", web);
    const deploy = await joiner.next(isType("deploy"));
    expect(deploy.deploymentId).toBe(`${id}:n1`);
    expect((await view()).waves[0]?.agents.map((a) => a.agentId)).toContain("n1");
    await reportAcked(joiner, deploy, "succeeded");
    await expect.poll(async () => (await view()).currentWave, { timeout: 10_000 }).toBe(1);
  });

  it("`agents` says the fleet is empty because its agents were forgotten, not that none ever connected", async () => {
    requireHubBin();
    const t = await session.start();
    const only = await session.connect(t, "solo-1", web);
    only.ws.terminate();
    await expect
      .poll(async () => (await t.hub.store.getAgent("solo-1"))?.online, { timeout: 10_000 })
      .toBe(false);
    expect(
      (await t.api("POST", "/api/v1/agents/solo-1/forget", { token: t.operator, body: {} })).status,
    ).toBe(200);
    const listed = await runHubCli(t.dir, ["agents", "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    expect(listed.code).toBe(0);
    expect(listed.stderr).toMatch(
      /^note: no agent left in the fleet: the hub knows 1 agent\(s\), all forgotten \(`ship-hub agents forget`\)/,
    );
  });

  it("ends a rollback instruction the agent still owed: it no longer waits to time out as a failure of a finished rollout", async () => {
    const t = await session.start();
    const { v1, v2, id, host } = await updatedByRollout(t, "u1");
    type View = {
      state: string;
      reason: string | null;
      progress: Record<string, number>;
      notRolledBack: string[];
    };
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => (await view()).state).toBe("completed");
    host.ws.terminate();
    await expect.poll(async () => (await t.hub.store.getAgent("u1"))?.online).toBe(false);
    const back = await t.api("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(back.status).toBe(200);
    expect((await t.hub.store.getDeployment(`${id}:u1`))?.state).toBe("rollback_pending");

    requireHubBin();
    const forgot = await runHubCli(t.dir, ["agents", "forget", "u1", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(forgot.code).toBe(0);
    expect(forgot.stdout).toContain(
      `it was NOT rolled back by rollout(s) ${id}: the rollback instruction it owed is ended (not a failure); it may still run that release, and is sent the rollback again if it rejoins`,
    );
    // Owed to a host that is gone, it would have turned rollback_timed_out: a failure, "sent again
    // when it reconnects", on a rollout nobody can act on any more.
    const held = await t.hub.store.getDeployment(`${id}:u1`);
    expect(held).toMatchObject({ state: "forgotten" });
    expect(held?.error).toMatch(
      /^rollback not sent: agent forgotten by .+ \(`ship-hub agents forget`\): not rolled back by this rollout/,
    );
    const after = await view();
    expect(after.progress).toMatchObject({ forgotten: 1, failed: 0, "in-progress": 0 });
    // The stored "rollback queued for 1 offline agent(s)" read as if it were still on its way.
    const now =
      "; now: 1 forgotten by an operator before answering (not rolled back; sent again if they rejoin)";
    expect(after.reason).toMatch(
      new RegExp(`^aborted; rollback queued for 1 offline agent\\(s\\).*${now.replace(/[()]/g, "\\$&")}$`),
    );
    const list = await t.api<{ rollouts: View[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts[0]?.reason).toBe(after.reason);
    expect(after).toMatchObject({ notRolledBack: ["u1"] });
    // Asked again: the 409 quoted the stored "rollback queued … sent when they reconnect: u1", as if
    // still on its way, and its causes left the forget out; it reads as the views do now.
    const again = await t.api<{ error: string }>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toContain(
      "or forgotten by an operator (`ship-hub agents forget`: sent back if it rejoins)",
    );
    expect(again.body.error).toContain(`(${after.reason})`);

    // Back with a new token, it may still run 2.0.0: the rollback is owed, and sent, again.
    const rejoined = await session.connect(t, "u1", [
      { app: "web", version: "2.0.0", state: "ok", releaseId: v2 },
    ]);
    expect(await rejoined.next(isType("deploy"))).toMatchObject({ rollback: true, release: { id: v1 } });
  });

  it("a rollback asked for after the forget does not wait for the forgotten host either", async () => {
    const t = await session.start();
    const { v1, v2, id, host } = await updatedByRollout(t, "u2");
    await expect.poll(async () => (await t.hub.store.getRollout(id))?.state).toBe("completed");
    host.ws.terminate();
    await expect.poll(async () => (await t.hub.store.getAgent("u2"))?.online).toBe(false);
    expect((await t.api("POST", "/api/v1/agents/u2/forget", { token: t.operator, body: {} })).status).toBe(
      200,
    );

    const back = await t.api<{ reason: string; notRolledBack: string[] }>(
      "POST",
      `/api/v1/rollouts/${id}/abort`,
      { token: t.operator, body: { rollback: true } },
    );
    expect(back.status).toBe(200);
    // Before: queued for it, "sent when they reconnect", to time out as a failure.
    expect(back.body.reason).toBe(
      "aborted; rollback sent to 0 agent(s); 1 agent(s) NOT rolled back (forgotten by an operator: sent if they rejoin): u2",
    );
    expect(back.body.notRolledBack).toEqual(["u2"]);
    expect(await t.hub.store.getDeployment(`${id}:u2`)).toMatchObject({ state: "forgotten" });
    const rejoined = await session.connect(t, "u2", [
      { app: "web", version: "2.0.0", state: "ok", releaseId: v2 },
    ]);
    expect(await rejoined.next(isType("deploy"))).toMatchObject({ rollback: true, release: { id: v1 } });
  });

  // `agents`' list filters were taken by `forget` wherever they stood and ignored: the agent was
  // forgotten (exit 0) though the operator asked about online agents only. Now refused before any
  // request, naming the flag and both commands; the hub address and token still reach it.
  it("refuses the list's filters given to forget, before or after it, and forgets nothing", async () => {
    requireHubBin();
    const t = await session.start();
    const gone = await session.connect(t, "gone-2", web);
    gone.ws.terminate();
    await expect.poll(async () => (await t.hub.store.getAgent("gone-2"))?.online).toBe(false);
    const env = { SHIP_HUB_TOKEN: t.operator };
    const runs = await Promise.all([
      runHubCli(t.dir, ["agents", "forget", "gone-2", "--status", "online", "--hub", t.hub.url], env),
      runHubCli(t.dir, ["agents", "--app", "web", "forget", "gone-2", "--hub", t.hub.url], env),
      runHubCli(t.dir, ["agents", "forget", "gone-2", "--json", "--selector", "env=prod"], env),
    ]);
    expect(runs.map((r) => [r.code, r.stdout])).toEqual([
      [2, ""],
      [2, ""],
      [2, ""],
    ]);
    expect(runs[0]?.stderr).toBe(
      "ship-hub: --status is an option of `ship-hub agents`, not of `ship-hub agents forget`, which does not read it: leave it out\n",
    );
    expect(runs[1]?.stderr).toMatch(
      /^ship-hub: --app is an option of `ship-hub agents`, not of `ship-hub agents forget`/,
    );
    expect(JSON.parse(runs[2]?.stderr ?? "")).toMatchObject({
      exitCode: 2,
      error: expect.stringMatching(/^--selector is an option of `ship-hub agents`/),
    });
    expect(await t.hub.store.getAgent("gone-2")).toMatchObject({ online: false });
    expect((await t.hub.store.getAgent("gone-2"))?.forgottenAt ?? null).toBeNull();

    // --hub and --json before `forget` are still its own.
    const forgot = await runHubCli(t.dir, ["agents", "--hub", t.hub.url, "--json", "forget", "gone-2"], env);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(JSON.parse(forgot.stdout)).toMatchObject({ id: "gone-2" });
  });
});
