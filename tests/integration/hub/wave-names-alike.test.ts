/**
 * Wave names must differ because operators tell waves apart by them ("advanced from wave 1/2
 * canary"), and two must not look alike. Invisible characters were refused already, yet the hub
 * took " " as a wave name (printed as nothing), "canary" beside "canary " (a trailing space), "café"
 * written composed beside "café" written with a combining accent, and "a b" beside "a  b"; then a
 * Hangul filler (a letter by category) or a blank braille pattern as a name, "canary" beside
 * "can<U+034F>ary", and a selector label named " ". The same
 * refusal holds at the CLI, which no longer passes `--wave "canary =5"`'s space on as part of the
 * name (spaces beside `=` are no part of it, as in `--selector env = prod`). Real hub, real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, publishRelease } from "./support.js";

const session = hubPerTest();

describe("wave names that look alike", () => {
  it("are refused by the API, naming the field, and nothing is created", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    await session.connect(t, "a2");
    const body = (names: readonly [string, string]) => ({
      release,
      waves: [
        { name: names[0], agents: ["a1"] },
        { name: names[1], percent: 100 },
      ],
    });
    const edge =
      "must not begin or end with white space or an invisible character (a no-break space, a zero-width space, a Hangul filler …): the CLI, the dashboard and the event log print it, where it cannot be seen";
    const blank =
      "must show something: it holds only white space or invisible characters (a no-break space, a zero-width space, a Hangul filler …), which the CLI, the dashboard and the event log print as nothing";
    for (const [names, error] of [
      [[" ", "all"], `body.waves[0].name: ${blank}`],
      // Letters or symbols by category that show as nothing: a Hangul filler, a blank braille
      // pattern, a combining grapheme joiner, a variation selector alone.
      [["\u3164", "all"], `body.waves[0].name: ${blank}`],
      [["canary", "\u2800"], `body.waves[1].name: ${blank}`],
      [["\u034f\ufe0f", "all"], `body.waves[0].name: ${blank}`],
      [["canary\u3164", "all"], `body.waves[0].name: ${edge}`],
      [
        ["canary", "can\u034fary"],
        'body.waves[1].name: "can\u034fary" reads as wave 1 ("canary"): wave names must differ',
      ],
      [["canary ", "all"], `body.waves[0].name: ${edge}`],
      [["canary", "\u00a0all"], `body.waves[1].name: ${edge}`],
      [["canary", "\tall"], /^body\.waves\[1\]\.name: must not hold a control character/],
      [
        ["caf\u00e9", "cafe\u0301"],
        `body.waves[1].name: "cafe\u0301" reads as wave 1 ("caf\u00e9"): wave names must differ`,
      ],
      [["a b", "a  b"], 'body.waves[1].name: "a  b" reads as wave 1 ("a b"): wave names must differ'],
      [["canary", "canary"], 'body.waves[1].name: "canary" already names wave 1: wave names must differ'],
    ] as const) {
      for (const path of ["/api/v1/rollouts", "/api/v1/rollouts/preview"]) {
        const res = await t.api("POST", path, { token: t.operator, body: body(names) });
        expect({ names, path, status: res.status }).toEqual({ names, path, status: 400 });
        if (typeof error === "string") expect(res.body.error).toBe(error);
        else expect(res.body.error).toMatch(error);
      }
    }
    // A selector's or labels wave's label name of nothing visible: `{" ": "x"}` was taken as a label
    // named "" that no --selector or dashboard filter can name.
    for (const labels of [{ " ": "x" }, { "\u3164": "x" }]) {
      const name = Object.keys(labels)[0];
      const res = await t.api("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, selector: { labels }, waves: [{ name: "all", percent: 100 }] },
      });
      expect({ labels, status: res.status }).toEqual({ labels, status: 400 });
      expect(res.body.error).toMatch(`body.selector.labels.${name}: a label name must show something`);
      const wave = await t.api("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "canary", labels }] },
      });
      expect(wave.status).toBe(400);
      expect(wave.body.error).toMatch(`body.waves[0].labels.${name}: a label name must show something`);
    }
    const list = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts).toEqual([]);
    // Names that differ by what a reader sees are fine, an inner single space included.
    const fine = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: body(["Canary one", "canary one \u2764\ufe0f"]),
    });
    expect(fine.status).toBe(201);
  });

  it("the CLI drops spaces beside = and refuses names that read alike with exit 2 naming --wave", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    await session.connect(t, "a2");
    const env = ["--hub", t.hub.url];
    const token = { SHIP_HUB_TOKEN: t.operator };
    const base = ["rollout", "create", "--app", "web", "--version", "2.0.0"];
    const spaced = await runHubCli(
      t.dir,
      [...base, "--wave", " canary = agents:a1", "--wave", "all=100", "--preview", "--json", ...env],
      token,
    );
    expect(spaced.stderr).toBe("");
    expect(spaced.code).toBe(0);
    const preview = JSON.parse(spaced.stdout) as { waves: { name: string }[] };
    expect(preview.waves.map((w) => w.name)).toEqual(["canary", "all"]);

    const alike = await runHubCli(
      t.dir,
      [...base, "--wave", "caf\u00e9=agents:a1", "--wave", "cafe\u0301=100", ...env],
      token,
    );
    expect(alike.code).toBe(2);
    expect(alike.stderr).toMatch(/--wave/);
    expect(alike.stderr).toMatch(/reads as wave 1/);
    const list = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts).toEqual([]);
  });
});
