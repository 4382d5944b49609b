/**
 * `--wave "canary=agents:a1,web;01,a3"`: the hub refused the id, and the CLI put the API's
 * `body.waves[0].agents[1]` as the whole `--wave "…"`, so the operator was left to find which of a
 * dozen ids was wrong (the dashboard's wave row names it by its place and itself). Now each id is
 * checked by the agent id rule before the hub is asked: one line naming the wave, the id's place
 * and the id, exit 2, nothing created; ids split by spaces alike. A `--spec` file's (already named
 * by its key and place) stays so. Real hub, real CLI.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hubPerTest, operatorCli, publishRelease } from "./support.js";

const session = hubPerTest();
const RULE = "must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

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
        const run = await operatorCli(
          t,
          "rollout",
          "create",
          "--release",
          release,
          "--wave",
          wave,
          "--wave",
          "rest=100",
          ...extra,
        );
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

  it("in a --spec file is named by the file, its key and the id's place", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const spec = join(t.dir, "rollout.json");
    await writeFile(
      spec,
      JSON.stringify({
        release,
        waves: [
          { name: "canary", agents: ["a1", "web;01"] },
          { name: "rest", percent: 100 },
        ],
      }),
    );
    const run = await operatorCli(t, "rollout", "create", "--spec", spec);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`ship-hub: --spec ${spec}: spec.waves[0].agents[1]: ${RULE}\n`);
  });
});
