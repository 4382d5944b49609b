/**
 * `--wave "canary=agents:a1,,a2"` (a script's `agents:$A,$B,$C` with B empty) dropped the empty id
 * unsaid: the rollout was created with a canary of a1 and a2, and the host meant between them was
 * left to a later wave. An empty id is refused now, in the flag, in the API's body and in the
 * dashboard's wave row alike: a one-line error naming the wave and the id, exit 2, nothing created.
 * Real hub, real CLI; the dashboard's parser is the module its page runs.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentIds } from "../../../dashboard/src/format.js";
import { hubPerTest, operatorCli, publishRelease, type TestHub } from "./support.js";

const session = hubPerTest();
const RULE = "must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

/** `ship-hub rollout create` of `release` with `--wave WAVE --wave rest=100` (and `extra`), as an operator runs it. */
const createCanary = (t: TestHub, release: string, wave: string, ...extra: string[]) =>
  operatorCli(t, "rollout", "create", "--release", release, "--wave", wave, "--wave", "rest=100", ...extra);

describe("an empty id in an agents wave", () => {
  it("is refused by the CLI (exit 2, one line naming the wave) and by the API (400 naming the field)", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    for (const id of ["a1", "a2", "a3"]) await session.connect(t, id);
    for (const [list, n] of [
      ["a1,,a2", 2],
      ["a1, ,a2", 2],
      ["a1,", 2],
      [",a1", 1],
    ] as const) {
      const wave = `canary=agents:${list}`;
      const run = await createCanary(t, release, wave);
      expect({ wave, code: run.code, stdout: run.stdout }).toEqual({ wave, code: 2, stdout: "" });
      expect(run.stderr).toBe(
        `ship-hub: --wave "${wave}": wave canary's agent id ${n} is empty (two commas together, or a comma at an end): separate the ids by one comma\n`,
      );
    }
    // Nothing was created: before, the first of them made a rollout with a canary of a1 and a2.
    const listed = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(listed.body.rollouts).toEqual([]);

    const body = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "canary", agents: ["a1", "", "a2"] },
          { name: "rest", percent: 100 },
        ],
      },
    });
    expect(body.status).toBe(400);
    expect(body.body.error).toMatch(/^body\.waves\[0\]\.agents\[1\]: /);
    expect(
      (await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator })).body.rollouts,
    ).toEqual([]);

    // Spaces after the commas stay separators, as before.
    const fine = await operatorCli(
      t,
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "canary=agents:a1, a2",
      "--wave",
      "rest=100",
      "--preview",
      "--json",
    );
    expect(fine.code, fine.stderr).toBe(0);
    expect((JSON.parse(fine.stdout) as { waves: { agents: string[] }[] }).waves[0]?.agents).toEqual([
      "a1",
      "a2",
    ]);
  });

  it("is refused by the dashboard's wave row, which named no error and dropped it", () => {
    expect(() => parseAgentIds("a1,,a2")).toThrow(
      'agent id 2 of "a1,,a2" is empty (two commas together, or a comma at an end): separate the ids by one comma',
    );
    expect(() => parseAgentIds("a1,")).toThrow("agent id 2 of");
    expect(() => parseAgentIds(", a1")).toThrow("agent id 1 of");
    // Counted as the CLI counts them (and as the hub's `agents[j]` the form names): ids split by
    // spaces are ids too, so the empty one after "a1 a2" is id 3; it said "id 2", which is a2.
    expect(() => parseAgentIds("a1 a2,,a3")).toThrow('agent id 3 of "a1 a2,,a3" is empty');
    expect(() => parseAgentIds("a1 a2 a3,")).toThrow("agent id 4 of");
    expect(parseAgentIds(" a1, a2 a3 ")).toEqual(["a1", "a2", "a3"]);
    expect(parseAgentIds("")).toEqual([]);
  });
});

/**
 * `--wave "canary=agents:a1,web;01,a3"`: the hub refused the id, and the CLI put the API's
 * `body.waves[0].agents[1]` as the whole `--wave "…"`, so the operator was left to find which of a
 * dozen ids was wrong (the dashboard's wave row names it by its place and itself). Now each id is
 * checked by the agent id rule before the hub is asked: one line naming the wave, the id's place
 * and the id, exit 2, nothing created; ids split by spaces alike. A `--spec` file's (already named
 * by its key and place) stays so.
 */
describe("a malformed id in an agents wave", () => {
  it("is named by its wave, place and itself (exit 2, nothing created)", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    for (const id of ["a1", "a3"]) await session.connect(t, id);
    for (const [list, n, id] of [
      ["a1,web;01,a3", 2, "web;01"],
      ["a1 -x a3", 2, "-x"],
      ["a1,a3,web:2", 3, "web:2"],
    ] as const) {
      const wave = `canary=agents:${list}`;
      for (const extra of [[], ["--preview"]]) {
        const run = await createCanary(t, release, wave, ...extra);
        expect({ wave, code: run.code, stdout: run.stdout }).toEqual({ wave, code: 2, stdout: "" });
        // Before: 'ship-hub: --wave "canary=agents:a1,web;01,a3": must be …', which id unsaid.
        expect(run.stderr).toBe(
          `ship-hub: --wave "${wave}": wave canary's agent id ${n} ${JSON.stringify(id)} ${RULE}\n`,
        );
      }
    }
    const listed = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(listed.body.rollouts).toEqual([]);
  });

  it("counts the places of empty and malformed ids alike (ids split by spaces too)", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    for (const id of ["a1", "a2", "a3"]) await session.connect(t, id);
    // Ids split by spaces count as ids for a malformed one ("a1 a2,web;01": id 3), and the empty
    // one after them was counted by commas alone: "agent id 2 is empty" pointed at a2, which is not.
    const spaced = "canary=agents:a1 a2,,a3";
    const empty = await createCanary(t, release, spaced);
    expect({ code: empty.code, stderr: empty.stderr }).toEqual({
      code: 2,
      stderr: `ship-hub: --wave "${spaced}": wave canary's agent id 3 is empty (two commas together, or a comma at an end): separate the ids by one comma\n`,
    });
  });

  it("prints no --wave raw to the terminal when refusing an id in it", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    // An id pasted from coloured output: the id is quoted with its ESC escaped, but the whole
    // --wave was echoed as typed, and the terminal took its ESC [31m (the rest of the line red).
    const coloured = "canary=agents:a1,\u001b[31ma2";
    const run = await createCanary(t, release, coloured);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`wave canary's agent id 2 "\\u001b[31ma2" ${RULE}`);
    expect(run.stderr).not.toContain("\u001b");
    const listed = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(listed.body.rollouts).toEqual([]);
  });

  it("in a --spec file is named by the file, its key and the id's place", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const spec = join(t.dir, "rollout.json");
    const text = JSON.stringify({
      release,
      waves: [
        { name: "canary", agents: ["a1", "web;01"] },
        { name: "rest", percent: 100 },
      ],
    });
    await writeFile(spec, text);
    const run = await operatorCli(t, "rollout", "create", "--spec", spec);
    expect(run.code).toBe(2);
    // Placed at the id itself, line 1 of the one-line JSON, as a YAML error is placed.
    const column = text.indexOf('"web;01"') + 1;
    expect(run.stderr).toBe(`ship-hub: --spec ${spec}:1:${column}: waves[0].agents[1]: ${RULE}\n`);
  });
});
