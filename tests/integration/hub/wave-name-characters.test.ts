/**
 * A wave name is printed by the CLI ("advanced from wave 1/2 canary to …"), the dashboard and the
 * event log. One holding ESC, CR or a bidirectional override was stored and printed raw by
 * `rollout advance`: `$'can\e[31mary'` coloured the operator's terminal, a CR rewrote the line.
 * The same for a rollout's `seed` (`preview (seed …)`). Refused at the door, by the API and by the CLI (exit 2 naming --wave). Real hub, real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, publishRelease } from "./support.js";

const session = hubPerTest();
const BAD = [
  "can\u001b[31mary",
  "canary\rall",
  "line\nbreak",
  "tab\there",
  "nul\u0000",
  "c1\u0085",
  "bidi\u202eyranac",
  "sep\u2028x",
  // Invisible: two waves that read alike (review23).
  "can\u200bary",
  "alm\u061cx",
];

describe("a wave name with a control character", () => {
  it("is refused by the API, naming the field, and nothing is created", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    for (const name of BAD) {
      const res = await t.api("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name, agents: ["a1"] },
            { name: "all", percent: 100 },
          ],
        },
      });
      expect({ name, status: res.status, error: res.body.error }).toEqual({
        name,
        status: 400,
        error:
          "body.waves[0].name: must not hold a control character (a line break, tab, ESC …), a bidirectional override or an invisible format character (a zero-width space …): the CLI, the dashboard and the event log print it",
      });
    }
    // The seed is printed too (`preview (seed …)`).
    const seeded = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, seed: "s\u001b[2J", waves: [{ name: "all", percent: 100 }] },
    });
    expect(seeded.body.error).toMatch(/^body\.seed: must not hold a control character/);
    const list = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts).toEqual([]);
  });

  it("is refused by the CLI with exit 2 naming --wave", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
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
        "can\u001b[31mary=agents:a1",
        "--wave",
        "all=100",
        "--hub",
        t.hub.url,
      ],
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain("\u001b");
    expect(run.stderr).toMatch(/--wave/);
    expect(run.stderr).toMatch(/must not hold a control character/);
  });
});
