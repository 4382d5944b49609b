/**
 * `[hub] labels = { env = " prod " }`: the agent announced the value with its spaces, and nothing
 * could choose it (`--selector env=prod`, a labels wave's `K=V` and the dashboard's forms all trim
 * what they are given). It is refused where it is written, as a label name with a space already is:
 * exit 2, one line naming ship.toml's line and the key, before anything is written or connected.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgentBriefly, runShip } from "../../support/ship-cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-label-value-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MESSAGE =
  "a label value must not begin or end with white space (--selector KEY=VALUE, a labels wave's K=V and the dashboard's forms trim what they are given, so none could choose it)";

describe("a [hub] label value with white space at its ends", () => {
  it.each([
    ["spaces at both ends", 'env = " prod "'],
    ["a trailing tab", 'env = "prod\\t"'],
    ["a leading no-break space", 'env = "\\u00a0prod"'],
  ])(
    "%s: ship agent and ship --check-only exit 2 naming the file and key, nothing written",
    async (_, line) => {
      const config = join(dir, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${dir}/state.json"\nbackup_dir = "${dir}/backups"\n\n` +
          `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${dir}/token"\n\n[hub.labels]\nring = "canary"\n${line}\n`,
      );
      await writeFile(join(dir, "token"), "x\n", { mode: 0o600 });
      const agent = await runAgentBriefly(config);
      expect(agent.code, agent.stderr).toBe(2);
      expect(agent.stderr.trim()).toBe(`ship: ${config}:11:1 hub.labels.env: ${MESSAGE}`);
      const check = await runShip(["--config", config, "--check-only"]);
      expect(check.code, check.stderr).toBe(2);
      expect(check.stderr.trim()).toBe(`ship: ${config}:11:1 hub.labels.env: ${MESSAGE}`);
      expect((await readdir(dir)).sort()).toEqual(["ship.toml", "token"]);
    },
  );
});

describe("more [hub] labels than the hub keeps of a hello", () => {
  it("101 labels: ship agent and ship --check-only exit 2 naming hub.labels and the bound, nothing written", async () => {
    const config = join(dir, "ship.toml");
    const labels = Array.from({ length: 101 }, (_, i) => `l${i} = "v"`).join("\n");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/state.json"\nbackup_dir = "${dir}/backups"\n\n` +
        `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${dir}/token"\n\n[hub.labels]\n${labels}\n`,
    );
    await writeFile(join(dir, "token"), "x\n", { mode: 0o600 });
    for (const run of [await runAgentBriefly(config), await runShip(["--config", config, "--check-only"])]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim()).toMatch(
        new RegExp(
          `^ship: ${config}:\\d+:\\d+ hub\\.labels: at most 100 labels \\(the hub keeps no more of a hello's\\)$`,
        ),
      );
    }
    expect((await readdir(dir)).sort()).toEqual(["ship.toml", "token"]);
  });
});
