/**
 * A flag whose value was left out takes the next word: since 897cd3e3 one of the command's own flags
 * there is refused, exit 2, "--rollback has no value: the word after it is the option --json". The
 * help flag is one of every command's flags (`-h, --help` in each --help listing) but is not among
 * those the check knows: `ship --rollback --help` still says "holds no backup with id --help", the
 * very message the fix was for, `ship --test-manifest -h` "-h cannot read the manifest", and
 * `ship-hub rollout list --after --help` goes on to ask for a token (then sends --help as the cursor).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHubCli } from "../../support/hub-cli.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(async () => app.cleanup());

describe("a flag whose value is the help flag (real CLI)", () => {
  it.each([
    [["--rollback", "--help"], "--rollback", "--help", "--rollback <id|path>"],
    [["--rollback", "-h"], "--rollback", "-h", "--rollback <id|path>"],
    [["--test-manifest", "-h"], "--test-manifest", "-h", "--test-manifest <file>"],
    [["--sources", "--help"], "--sources", "--help", "--sources <names...>"],
  ])("ship %j is exit 2 naming the flag, and nothing is installed", async (args, flag, next, usage) => {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship: ${flag} has no value: the word after it is the option ${next}; give it a value (${usage})`,
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("ship-hub rollout list --after --help is exit 2 naming --after, before asking for a token", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "ship-hub-cli-"));
    try {
      const run = await runHubCli(cwd, ["rollout", "list", "--after", "--help"]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^ship-hub: --after has no value: the word after it is the option --help;/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
