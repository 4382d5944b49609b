/**
 * A wave's wait finer than a hundredth of a minute. Percents and success rates come in the steps
 * they are said in; the wait did not: `waitMinutes: 1e-7` (a `--spec` file, the API, or
 * `--wait-minutes 0.0000001`) was taken and said back as "waitMinutes 1e-7" by the hub's warnings,
 * the CLI and the dashboard, and 5e-324 as "waitMinutes 5e-324". It is refused, naming the field or
 * the flag, in the API and the CLI alike. Real hub (in process) over real HTTP; `ship-hub` as a real
 * child process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { publishRelease, startTestHub, type TestHub } from "./support.js";

let t: TestHub;
let release: string;
beforeAll(async () => {
  t = await startTestHub();
  release = await publishRelease(t, "2.0.0");
});
afterAll(async () => {
  await t.stop();
});

const preview = (waitMinutes: number) =>
  t.api("POST", "/api/v1/rollouts/preview", {
    token: t.operator,
    body: {
      release,
      autoAdvance: true,
      waves: [
        { name: "canary", percent: 10, waitMinutes },
        { name: "all", percent: 100 },
      ],
    },
  });

describe("a wave's waitMinutes", () => {
  it.each([5e-324, 1e-7, 0.015, 2.999])("%s is refused by the API, naming the field", async (wait) => {
    const res = await preview(wait);
    expect({ status: res.status, error: res.body.error }).toEqual({
      status: 400,
      error:
        "body.waves[0].waitMinutes: must be in steps of 0.01 (minutes said to two decimals: 0.01 is 0.6 s, the smallest)",
    });
  });

  it.each([0, 0.01, 1.5, 43_200])("%s is taken", async (wait) => {
    expect((await preview(wait)).status).toBe(200);
  });

  it("--wait-minutes finer than 0.01 is exit 2 naming the flag, before the hub is asked", async () => {
    requireHubBin();
    const r = await runHubCli(
      t.dir,
      [
        "rollout",
        "create",
        "--release",
        release,
        "--wave",
        "a=10",
        "--wave",
        "b=100",
        "--auto-advance",
      ].concat(["--wait-minutes", "0.0000001", "--preview", "--hub", t.hub.url]),
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr:
        'ship-hub: --wait-minutes "0.0000001": must be in steps of 0.01 (minutes said to two decimals: 0.01 is 0.6 s, the smallest)\n',
    });
  });
});
