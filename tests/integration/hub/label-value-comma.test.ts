/**
 * A label value holding a comma (`zone = "rack a,b"`: an agent may report any text) could be chosen
 * by `--selector zone=rack a,b`, but not by a labels wave: `--wave NAME=label:K=V,K=V` split it at
 * every comma (`b: use KEY=VALUE`), so no wave could hold that host. A pair is now given whole in
 * double quotes, as `rollout show`, a refusal and `ship-hub agents` say it back
 * (`"zone=rack a,b"`, a `"` in it as `\"`): what the hub says can be typed back.
 * Real hub (in process), agents over a real WebSocket, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("a label value holding a comma or a quote", () => {
  let hub: LabelledHub;
  const created: string[] = [];

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([
      { id: "z1", labels: { zone: "rack a,b", ring: "main" } },
      { id: "z2", labels: { zone: "rack a", ring: "main" } },
      { id: "q1", labels: { note: 'say "hi", then go\\' } },
    ]);
  });
  afterAll(async () => {
    for (const id of created) await hub.cli("rollout", "abort", id);
    await hub?.stop();
  });

  const waveAgents = async (id: string) => {
    const detail = await hub.t.api<{ waves: { name: string; agents: { agentId: string }[] }[] }>(
      "GET",
      `/api/v1/rollouts/${id}`,
      { token: hub.t.operator },
    );
    return detail.body.waves.map((w) => [w.name, w.agents.map((a) => a.agentId).sort()]);
  };
  const create = async (...flags: string[]) => {
    const done = await hub.cli("rollout", "create", "--release", hub.release, ...flags, "--json");
    expect(done.code, done.stderr).toBe(0);
    const id = (JSON.parse(done.stdout) as { id: string }).id;
    created.push(id);
    return id;
  };

  it("is chosen by a labels wave naming its pair in double quotes, as the CLI shows it back", async () => {
    const id = await create(
      "--wave",
      'rack=label: "zone=rack a,b" , ring=main',
      "--wave",
      `said=label:"note=say \\"hi\\", then go\\\\"`,
      "--wave",
      "all=100",
    );
    expect(await waveAgents(id)).toEqual([
      ["rack", ["z1"]],
      ["said", ["q1"]],
      ["all", ["z2"]],
    ]);
    await hub.cli("rollout", "abort", id);
    // The agents' table says the pair as the wave takes it.
    const listed = await hub.cli("agents");
    expect(listed.stdout).toMatch(/^z1 .*"zone=rack a,b",ring=main/m);
    expect(listed.stdout).toMatch(/^q1 .*"note=say \\"hi\\", then go\\\\"/m);
  });

  it("a refusal lists the agents' pairs quoted so that each can be typed back into a wave", async () => {
    const refused = await hub.cli(
      "rollout",
      "create",
      "--release",
      hub.release,
      "--selector",
      "zone=nowhere",
    );
    expect(refused.code).toBe(2);
    const said = /their labels: (.*)\), so the rollout/.exec(refused.stderr)?.[1] ?? "";
    expect(said).toContain('"zone=rack a,b",ring=main');
    // Each label set the refusal names, typed back as a labels wave, takes its agent.
    const id = await create("--wave", `back=label:${said.split("; ")[0]}`, "--wave", "all=100");
    expect((await waveAgents(id))[0]?.[1]).toHaveLength(1);
  });

  it("a quote left open or text after a closing quote is exit 2 naming the wave, nothing created", async () => {
    for (const [wave, said] of [
      ['c=label:"zone=rack a,b', "the quote is not closed"],
      ['c=label:"zone=rack a"b', "a quoted pair ends at its closing quote; put a comma after it"],
    ] as const) {
      const refused = await hub.cli("rollout", "create", "--release", hub.release, "--wave", wave);
      expect(refused.code, wave).toBe(2);
      expect(refused.stderr.split("\n").filter(Boolean), wave).toEqual([
        expect.stringMatching(/^ship-hub: --wave "c=label:\\"zone=rack a.*: label .*/),
      ]);
      expect(refused.stderr).toContain(said);
    }
    const listed = await hub.t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", {
      token: hub.t.operator,
    });
    expect(listed.body.rollouts).toHaveLength(created.length);
  });
});

describe("a label value holding a character shown escaped (a control or zero-width character)", () => {
  let hub: LabelledHub;

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([
      { id: "c1", labels: { zone: "a\u001bb" } },
      { id: "c2", labels: { zone: "can\u200bary" } },
      { id: "c3", labels: { zone: "ab" } },
    ]);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("is said quoted, so that the pair `ship-hub agents` shows, typed back into a wave, takes its agent", async () => {
    const listed = await hub.cli("agents");
    expect(listed.code, listed.stderr).toBe(0);
    for (const [id, shown] of [
      ["c1", '"zone=a\\u001bb"'],
      ["c2", '"zone=can\\u200bary"'],
    ] as const) {
      const row = listed.stdout.split("\n").find((line) => line.startsWith(`${id} `)) ?? "";
      expect(row, listed.stdout).toContain(shown);
      const done = await hub.cli(
        "rollout",
        "create",
        "--release",
        hub.release,
        "--wave",
        `back=label:${shown}`,
        "--wave",
        "rest=100",
        "--json",
      );
      expect(done.code, done.stderr).toBe(0);
      const rollout = JSON.parse(done.stdout) as { id: string; waves: { agents: { agentId: string }[] }[] };
      expect(
        rollout.waves[0]?.agents.map((a) => a.agentId),
        shown,
      ).toEqual([id]);
      expect((await hub.cli("rollout", "abort", rollout.id)).code).toBe(0);
    }
  });
});
