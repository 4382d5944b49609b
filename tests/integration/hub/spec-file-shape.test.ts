/**
 * A `--spec` file that nests too deep or whose aliases repeat too much. It was read with none of the
 * rules every other YAML ship reads is held to (shared/yaml-depth.ts): one nested 20,000 deep said
 * "Maximum call stack size exceeded", and a few anchors each used a few times (a "billion laughs")
 * was exit 1 with the yaml library's "Excessive alias count indicates a resource exhaustion attack",
 * naming no file. Both are bad input: exit 2 in one line naming the file, the line and column and
 * what is wrong, before the hub is asked anything. `ship-hub` as a real child process.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub;
let dir: string;
beforeAll(async () => {
  t = await startTestHub();
  dir = await mkdtemp(join(tmpdir(), "ship-spec-shape-"));
});
afterAll(async () => {
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Anchors each repeating the one before it `times` times, `levels` deep: `times`^`levels` values. */
function laughs(levels: number, times: number): string {
  const lines = ["release: x", "waves:", "  - {name: a, percent: 100}", "junk:"];
  for (let i = 0; i < levels; i++)
    lines.push(
      `  - &l${i} [${
        i === 0
          ? "x"
          : Array(times)
              .fill(`*l${i - 1}`)
              .join(", ")
      }]`,
    );
  return `${lines.join("\n")}\n`;
}

const cases: [string, string, RegExp][] = [
  [
    "flow lists nested 20,000 deep",
    `release: x\nwaves: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    /:2:\d+: nests deeper than 32 levels/,
  ],
  [
    "mappings nested 500 deep",
    `release: x\nwaves: ${"{a: ".repeat(500)}1${"}".repeat(500)}\n`,
    /:2:\d+: nests deeper than 32 levels/,
  ],
  [
    "an alias landing past the depth",
    `release: x\nwaves: &w [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\njunk: [[[[*w]]]]\n`,
    /:3:\d+: nests deeper than 32 levels once its aliases are expanded/,
  ],
  ["a billion laughs", laughs(9, 9), /:\d+:\d+: its aliases repeat more than 10,000 values in all/],
  [
    "one anchor used 20,000 times",
    laughs(2, 20_000),
    /:\d+:\d+: its aliases repeat more than 10,000 values in all/,
  ],
];

describe("a --spec file past the YAML limits", () => {
  it.each(cases)("%s: exit 2 naming the file, line and column", async (_, text, problem) => {
    requireHubBin();
    const file = join(dir, "spec.yaml");
    await writeFile(file, text);
    const r = await runHubCli(dir, ["rollout", "create", "--spec", file, "--preview", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^ship-hub: --spec ${file.replace(/[.]/g, "\\.")}${problem.source}`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a spec using an anchor as YAML allows it is read as before", async () => {
    requireHubBin();
    const file = join(dir, "anchored.yaml");
    await writeFile(
      file,
      "release: nope\nwaves:\n  - {name: a, agents: &ids [h1, h2]}\nselector: {labels: {}}\n",
    );
    const r = await runHubCli(dir, ["rollout", "create", "--spec", file, "--preview", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    // Past the file's checks: the hub is asked, and answers of the release.
    expect(r.stderr).toMatch(/404: --spec \S+anchored\.yaml:1:\d+: release: no release "nope" on this hub/);
  });
});
