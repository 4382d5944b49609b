/**
 * The 32-level rule for manifests (deep-manifest.test.ts) measured the text as written, an alias
 * counting as a leaf, while the manifest is read with its aliases expanded: an anchor 30 levels deep
 * used a few levels down came out past the limit and was read, and one used inside itself (a cycle,
 * nested for ever) was "valid manifest", exit 0. The rule now holds for the expanded structure:
 * exit 2 naming the file, the alias's line and column and the limit; at exactly 32 levels expanded
 * (merge keys `<<` putting keys at their own level) a manifest is accepted. Real CLI runs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

/** `levels` flow lists around 1: `[[1]]` is 2 levels. */
const lists = (levels: number): string => `${"[".repeat(levels)}1${"]".repeat(levels)}`;
/** `levels` flow mappings around 1. */
const maps = (levels: number): string => `${"{k: ".repeat(levels)}1${"}".repeat(levels)}`;

const PAST: [string, string, string][] = [
  // root (1) + x-use (1) + [[ ]] (2) + the anchor's 30: 34.
  ["an anchor used two levels down", `x-deep: &d ${lists(30)}\nx-use: [[ *d ]]\n`, "3:11"],
  ["an alias in a hook's list", `x-deep: &d ${lists(30)}\nhooks:\n  pre_update:\n    - a: [ *d ]\n`, "5:12"],
  ["a mapping merged one level too deep", `x-base: &b {deep: ${maps(30)}}\nx-m:\n  n:\n    <<: *b\n`, "5:9"],
  ["an alias inside what it refers to", "hooks: &a\n  pre_update: [*a]\n", "3:16"],
  ["a list holding itself", "x-loop: &l [1, *l]\n", "2:16"],
];

describe("a manifest whose aliases expand past 32 levels (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each(PAST)(
    "with %s: --test-manifest is exit 2 naming the alias's place and the limit",
    async (_what, body, at) => {
      const file = join(app.root, "update-manifest.yaml");
      await writeFile(file, `version: "1.0.0"\n${body}`);
      const run = await runShip(["--test-manifest", file]);
      expect(run.stderr).toMatch(
        new RegExp(`^ship: ${file}:${at} nests deeper than 32 levels once its aliases are expanded`),
      );
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(run.code).toBe(2);
    },
  );

  it.each([
    ["an anchor used where it lands at 32", `x-deep: &d ${lists(30)}\nx-use: [ *d ]\n`],
    [
      "a merge key: the mapping's keys are at its own level",
      `x-base: &b {deep: ${maps(30)}}\nx-m:\n  <<: *b\n`,
    ],
    ["the same anchor used many times", `x-a: &a [1, 2]\nx-b: &b [*a, *a, *a]\nx-c: [*b, *b, *b, *b]\n`],
  ])("with %s: accepted", async (_what, body) => {
    const file = join(app.root, "update-manifest.yaml");
    await writeFile(file, `version: "1.0.0"\n${body}`);
    const run = await runShip(["--test-manifest", file]);
    expect(run.code, run.stderr).toBe(0);
  });

  it("in a release directory: exit 2, the app unchanged", async () => {
    await app.release("v1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const v2 = await app.release("v2", `version: "2.0.0"\nhooks: &a\n  pre_update: [*a]\n`, {
      "app.txt": "v2\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.stdout).toContain(`${join(v2, "update-manifest.yaml")}:3:16 nests deeper than 32 levels`);
    expect(run.code).toBe(2);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  });
});

/**
 * The hub bounds a manifest's keys and list items, an alias counting as what it repeats; the agent
 * did not, and a git or local release reaches it without the hub: 990 aliases of a 1,000-item
 * anchor (17 KB) took it 8.7 s of CPU and 989,900 problems. Now the same limits hold here.
 */
describe("a manifest whose aliases repeat past the hub's limits (real CLI, local source)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  const items = `[${Array(1_000).fill("0").join(",")}]`;
  const uses = (n: number) => Array.from({ length: n }, (_, i) => `  "1.0.${i}": *a\n`).join("");

  it("990 migrations naming a 1,000-item anchor: exit 2 in one line, the app unchanged", async () => {
    await app.release("v1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const manifest = `version: "2.0.0"\nx-shared: &a ${items}\nmigrations:\n${uses(990)}`;
    const v2 = await app.release("v2", manifest, { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config]);
    const file = join(v2, "update-manifest.yaml");
    const refusal = `${file} has more than 2000 list items, the limit (an alias counts as what it repeats)`;
    expect(run.stdout).toContain(refusal);
    expect(run.stdout.split("\n").filter((line) => line.includes(file))).toHaveLength(1);
    expect(run.code).toBe(2);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
    const tested = await runShip(["--test-manifest", file]);
    expect(tested.stderr.trimEnd()).toBe(`ship: ${refusal}`);
    expect(tested.code).toBe(2);
  });

  it("an anchor used within the limits is read", async () => {
    const file = join(app.root, "update-manifest.yaml");
    await writeFile(
      file,
      `version: "1.0.0"\nx-shared: &a [1, 2]\nx-uses: [${Array(500).fill("*a").join(", ")}]\n`,
    );
    const run = await runShip(["--test-manifest", file]);
    expect(run.code, run.stderr).toBe(0);
  });
});
