/**
 * A refusal is one line even when the value it names holds a line break: `ship --config $'x\ny'`,
 * `--sources` and `--test-manifest` said the value raw, so its line broke in two and a
 * log or a script reading stderr's first line got half a message. The value is said with `\n`.
 */
import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(async () => app.cleanup());

describe("a value with a line break is refused on one line (real CLI)", () => {
  it.each([
    ["--config", (_config: string) => ["--config", "x\ny"]],
    ["--sources", (config: string) => ["--config", config, "--sources", "x\ny"]],
    ["--test-manifest", (config: string) => ["--config", config, "--test-manifest", "x\ny"]],
  ])("%s", async (_flag, args) => {
    const before = await readdir(app.root);
    const run = await runShip(args(app.config), { cwd: app.root });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
    expect(run.stderr).toContain("x\\ny");
    expect(await readdir(app.root)).toEqual(before);
  });
});
