/**
 * A canary the operator wrote by hand can end up holding nobody: an `agents` wave naming a host
 * by a mistyped id, or a label nobody carries. Before, preview and create said nothing (the
 * preview's "(no agent)" row was all), and with autoAdvance the empty canary was passed at once,
 * sending the release to the whole fleet untested. Now both warn, naming the wave and the ids,
 * and the rollout.created event keeps the warnings. Real hub, agents over a real WebSocket, the
 * real CLI as a child process.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub, TestAgent, type TestHub } from "./support.js";

describe("rollout warnings: a wave that holds nobody, an agent the hub does not know", () => {
  let hub: LabelledHub;
  let t: TestHub;
  let release = "";
  const cli = (...args: string[]) => hub.cli(...args);

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([{ id: "web-01" }, { id: "web-02" }, { id: "db-01", apps: ["db"] }]);
    ({ t, release } = hub);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("preview and create name the mistyped id and the empty canary; the event keeps them", async () => {
    const args = ["rollout", "create", "--release", release, "--wave", "canary=agents:web-1,db-01"];
    const preview = await cli(...args, "--wave", "all=100", "--auto-advance", "--preview");
    expect(preview.code).toBe(0);
    expect(preview.stderr.split("\n").filter(Boolean)).toEqual([
      `warning: --wave "canary=agents:web-1,db-01": web-1 never registered with the hub (a typo?); taken only if an agent of that id registers while the rollout runs; db-01 does not take part (no app web announced, or the selector's labels lacking)`,
      'warning: --wave "canary=agents:web-1,db-01" holds no agent now: nothing is tested in it, and auto-advance waits in it for an agent to join it; advancing by hand passes it, sending the release to wave 2 (all) untested',
    ]);
    // A label nobody carries, through the API's preview: the same warning for the empty wave.
    const labels = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "ring0", labels: { ring: "0" } },
          { name: "all", percent: 100 },
        ],
      },
    });
    expect(labels.body.warnings).toEqual([
      "body.waves[0] (ring0) holds no agent now: nothing is tested in it, and advancing passes it, sending the release to wave 2 (all) untested",
    ]);
    const created = await cli(...args, "--wave", "all=100", "--json");
    expect(created.code).toBe(0);
    // With --json each warning is a JSON line on stderr.
    const warned = created.stderr
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { warning: string }).warning);
    expect(warned).toContainEqual(
      expect.stringContaining('--wave "canary=agents:web-1,db-01" holds no agent now'),
    );
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    type Events = { events: { kind: string; data: { warnings?: string[] } }[] };
    const events = (await t.api<Events>("GET", `/api/v1/events?subject=${id}`, { token: t.operator })).body
      .events;
    expect(events.find((e) => e.kind === "rollout.created")?.data.warnings).toHaveLength(2);
  });

  it("a canary that holds its agents says nothing", async () => {
    const preview = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "canary=agents:web-01",
      "--wave",
      "all=100",
      "--preview",
    );
    expect(preview.stderr).not.toContain("warning:");
    // Every agent is in a wave: no "(none)  0" row that reads like a wave or like agents missing.
    expect(preview.stdout.trim().split("\n").slice(1)).toEqual([
      expect.stringMatching(/^WAVE +AGENTS +MEMBERS$/),
      expect.stringMatching(/^canary +1 +web-01$/),
      expect.stringMatching(/^all +1 +web-02$/),
    ]);
  });

  it("agents no wave takes are named: the rollout would complete without them", async () => {
    const preview = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "canary=agents:web-01",
      "--preview",
    );
    expect(preview.stderr.split("\n").filter((l) => l.startsWith("warning:"))).toEqual([
      `warning: --wave "canary=agents:web-01": 1 of the rollout's 2 agent(s) are in no wave (web-02) and will not be updated by it; end with a 100 % wave to take them`,
    ]);
    expect(preview.stdout).toMatch(/^\(in no wave\) +1 +web-02$/m);
  });

  it("a wave before the last that takes every agent is named: the later waves hold none", async () => {
    const warnings = (r: { stderr: string }) => r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    // A canary naming every host of the app: the whole fleet at once, nothing tested first.
    const all = ["rollout", "create", "--release", release, "--wave", "canary=agents:web-01,web-02"];
    const whole = await cli(...all, "--wave", "rest=100", "--preview");
    expect(warnings(whole)).toEqual([
      `warning: --wave "canary=agents:web-01,web-02" takes every one of the rollout's 2 agent(s) now: rest holds none, so the release reaches every agent in the first wave, with nothing tested before`,
    ]);
    // Three percent waves on two agents: one each from the first, the last empty.
    const percents = ["rollout", "create", "--release", release, "--wave", "canary=10", "--wave", "half=50"];
    const tiny = await cli(...percents, "--wave", "all=100", "--preview");
    expect(tiny.stdout).toMatch(/^all +0 +\(no agent\)$/m);
    expect(warnings(tiny)).toEqual([
      `warning: --wave "half=50" and the waves before it take every one of the rollout's 2 agent(s) now: all holds none (fewer agents than waves: one each from the first); an agent that registers meanwhile joins them`,
    ]);
    // A fleet of one (db-01 alone runs db): the first wave takes it. It was said as "half holds no
    // agent … sending the release to wave 3 (all) untested", all holding none either, or not at all.
    const db = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "db",
        version: "2.0.0",
        manifest: 'version: "2.0.0"\n',
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const one = ["rollout", "create", "--release", db.body.id, "--wave", "canary=10"];
    expect(warnings(await cli(...one, "--wave", "all=100", "--preview"))).toEqual([
      `warning: --wave "canary=10" takes every one of the rollout's 1 agent(s) now: all holds none, so the release reaches every agent in the first wave, with nothing tested before`,
    ]);
    expect(warnings(await cli(...one, "--wave", "half=50", "--wave", "all=100", "--preview"))).toEqual([
      `warning: --wave "canary=10" takes every one of the rollout's 1 agent(s) now: half, all hold none, so the release reaches every agent in the first wave, with nothing tested before`,
    ]);
    // Named hosts are not "one each from the first" of percent waves.
    const named = ["rollout", "create", "--release", release, "--wave", "one=agents:web-01"];
    expect(
      warnings(await cli(...named, "--wave", "two=agents:web-02", "--wave", "all=100", "--preview")),
    ).toEqual([
      `warning: --wave "two=agents:web-02" and the waves before it take every one of the rollout's 2 agent(s) now: all holds none; an agent that registers meanwhile joins them`,
    ]);
  });

  it("a wave whose every agent is offline is named, with its hosts", async () => {
    const away = await TestAgent.connect(t.hub.url, await t.agentToken("web-03"));
    away.hello("web-03");
    while (!t.hub.registry.isOnline("web-03")) await new Promise((resolve) => setTimeout(resolve, 20));
    away.ws.close();
    while (t.hub.registry.isOnline("web-03")) await new Promise((resolve) => setTimeout(resolve, 20));
    const preview = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "canary=agents:web-03",
      "--wave",
      "all=100",
      "--preview",
    );
    // (Exit 2: the first case's rollout of web still runs, which the preview also says.)
    expect(preview.stderr.split("\n").filter((l) => l.startsWith("warning:"))).toEqual([
      'warning: --wave "canary=agents:web-03": every agent of it is offline now (web-03): the wave waits for them, and each that stays away past the hub\'s offline timeout counts as failed',
    ]);
  });

  it("the CLI names the flag or the --spec file the operator typed, not the API's field", async () => {
    const byFlags = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--selector",
      "region=mars",
      "--preview",
    );
    expect(byFlags).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^creating it would be refused: --selector: no agent with app web has region=mars \(/,
      ),
    });
    // (The first case's rollout of web still runs: preview names the nobody refusal before it.)
    const noWave = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "eu=label:region=eu",
      "--preview",
    );
    expect(noWave.stderr).toMatch(/^creating it would be refused: --wave: no wave takes any of the 3 agent/m);
    // A field under the flag's value: the selector's label, a wave's label.
    const long = await cli("rollout", "create", "--release", release, "--selector", `x=${"v".repeat(201)}`);
    expect(long.stderr).toBe(
      'ship-hub: hub answered 400: --selector "x=…": a label value must be at most 200 characters\n',
    );
    // A label name holding what a name pattern stopped at (a space, a letter past ASCII, a colon)
    // is named whole, as the dashboard's form names it: the CLI said `--selector "my=…" rack: …`,
    // `--selector "r=…"égion: …`, and left a wave's label half behind its `--wave "…"`.
    for (const name of ["my rack", "région", "tier:web"]) {
      const value = "v".repeat(201);
      const bySelector = await cli(
        "rollout",
        "create",
        "--release",
        release,
        "--selector",
        `${name}=${value}`,
      );
      expect(bySelector.stderr).toBe(
        `ship-hub: hub answered 400: --selector "${name}=…": a label value must be at most 200 characters\n`,
      );
      const wave = `c=label:${name}=${value}`;
      const byWave = await cli("rollout", "create", "--release", release, "--wave", wave);
      expect(byWave.stderr).toBe(
        `ship-hub: hub answered 400: --wave "${wave}": label "${name}": a label value must be at most 200 characters\n`,
      );
    }
    const label = await cli("rollout", "create", "--release", release, "--wave", "c=label:ring");
    expect(label).toMatchObject({
      code: 2,
      stderr: 'ship-hub: --wave "c=label:ring": label "ring": use KEY=VALUE\n',
    });
    // One value per label: the second replaced the first, and the release went to the canary
    // hosts alone where the operator typed main too (an agent matches neither way: it is refused).
    const twice = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "c=label:ring=main, ring=canary",
    );
    expect(twice).toMatchObject({
      code: 2,
      stdout: "",
      stderr:
        'ship-hub: --wave "c=label:ring=main, ring=canary": label "ring=canary": ring is given twice (ring=main, ring=canary): an agent carries one value per label, so none matches both\n',
    });
    // `label:` with no pair (an empty variable: `canary=label:$RING`) read as labels {}, every agent
    // left: the whole fleet in the canary, or as the last wave, a rollout nobody meant.
    for (const wave of ["c=label:", "c=label: , "])
      expect(await cli("rollout", "create", "--release", release, "--wave", wave)).toMatchObject({
        code: 2,
        stdout: "",
        stderr: `ship-hub: --wave "${wave}": name at least one label, NAME=label:KEY=VALUE (every agent left is NAME=100)\n`,
      });
    const selectors = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--selector",
      "ring=main",
      "--selector",
      "ring=canary",
      "--wave",
      "all=100",
    );
    expect(selectors).toMatchObject({
      code: 2,
      stdout: "",
      stderr:
        'ship-hub: --selector "ring=canary": ring is given twice (ring=main, ring=canary): an agent carries one value per label, so none matches both\n',
    });
    const dir = await mkdtemp(join(tmpdir(), "ship-spec-"));
    try {
      const spec = join(dir, "rollout.yaml");
      await writeFile(
        spec,
        `release: ${release}\nwaves:\n  - {name: c, agents: [web-9]}\n  - {name: all, percent: 100}\n`,
      );
      const fromFile = await cli("rollout", "create", "--spec", spec, "--preview");
      expect(fromFile.stderr).toContain(
        // At the key's line:column in the file, as the CLI's own check of the file places a field.
        `warning: --spec ${spec}:3:15: waves[0].agents (c): web-9 never registered with the hub (a typo?)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a failure count above the agents it holds is named: it could never halt or roll back", async () => {
    const preview = (failureThreshold: object) =>
      t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold, autoRollback: true },
      });
    // web-01, web-02 and web-03 (offline) take web.
    expect((await preview({ count: 10 })).body.warnings).toContain(
      "body.failureThreshold: 10 failure(s) is more than the 3 agent(s) the rollout holds now: the release failing on every one of them neither halts it nor sends anyone back (autoRollback)",
    );
    const reachable = (await preview({ count: 3 })).body.warnings;
    expect(reachable.filter((w) => w.startsWith("body.failureThreshold"))).toEqual([]);
  });

  it("offline agents enough to halt the rollout by themselves are named, with the wave and the threshold", async () => {
    // web-03 (web, offline since the case above) in a two-host canary, a threshold of 1: once its
    // wave starts and the offline timeout passes, it halts the rollout with nothing wrong in the release.
    const args = ["rollout", "create", "--release", release, "--wave", "canary=agents:web-01,web-03"];
    const preview = await cli(...args, "--wave", "all=100", "--preview");
    expect(preview.stderr.split("\n").filter((l) => l.startsWith("warning:"))).toEqual([
      "warning: --failure-threshold: 1 of the 2 agent(s) it updates in the waves up to canary are offline now (web-03): if they stay away past the hub's offline timeout they count as failed, enough to halt the rollout (1 failure(s)) with nothing wrong in the release",
    ]);
    const two = await cli(...args, "--wave", "all=100", "--failure-threshold", "2", "--preview");
    expect(two.stderr).not.toContain("warning:");
  });
});
