/**
 * `--wave "canary=agents:a1, a2"` (a list as people type it, and as the dashboard's wave row takes
 * it) was refused by the hub for the agent id " a2", and `label:ring=a, env=prod` looked for a label
 * " env" nobody has. A space beside a comma (or an `=`) is no part of a name. Real hub, real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, publishRelease } from "./support.js";

const session = hubPerTest();

describe("--wave lists with spaces", () => {
  it("takes the agents and labels as named", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    for (const [id, ring] of [
      ["a1", "one"],
      ["a2", "two"],
      ["a3", "one"],
    ] as const)
      await session.connect(t, id, undefined, { ring, env: "prod" });
    const preview = async (wave: string) => {
      const run = await runHubCli(
        t.dir,
        [
          "rollout",
          "create",
          "--app",
          "web",
          "--version",
          "2.0.0",
          "--wave",
          wave,
          "--wave",
          "rest=100",
          "--preview",
          "--json",
          "--hub",
          t.hub.url,
        ],
        { SHIP_HUB_TOKEN: t.operator },
      );
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      return (JSON.parse(run.stdout) as { waves: { agents: string[] }[] }).waves.map((w) => w.agents);
    };
    expect(await preview("canary=agents:a1, a2")).toEqual([["a1", "a2"], ["a3"]]);
    expect(await preview("canary=label:ring=one, env = prod")).toEqual([["a1", "a3"], ["a2"]]);
  });
});
