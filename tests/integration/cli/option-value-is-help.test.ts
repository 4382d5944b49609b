/**
 * A flag whose value was left out takes the next word: since 897cd3e3 one of the command's own flags
 * there is refused, exit 2, "--rollback has no value: the word after it is the option --json". The
 * help flag is one of every command's flags (`-h, --help` in each --help listing) but is not among
 * those the check knows: `ship --rollback --help` still says "holds no backup with id --help", the
 * very message the fix was for, `ship --test-manifest -h` "-h cannot read the manifest", and
 * `ship-hub rollout list --after --help` goes on to ask for a token (then sends --help as the cursor).
 * A flag taken as the value of the one before it when it takes a value itself left that value a stray
 * word, and commander refused the line before the check ran, naming the wrong thing: `ship --rollback
 * --config ship.toml` said "too many arguments", `ship-hub token create --name --role admin`
 * "required option '--role <role>' not specified".
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

describe("a flag whose value is a flag that takes a value itself (real CLI)", () => {
  it("ship --rollback --config FILE is exit 2 naming --rollback, and nothing is installed", async () => {
    const run = await runShip(["--rollback", "--config", app.config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      "ship: --rollback has no value: the word after it is the option --config; give it a value (--rollback <id|path>)",
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it.each([
    [["token", "create", "--name", "--role", "admin"], "--name", "--role"],
    [["rollout", "show", "--hub", "--token", "t", "r1"], "--hub", "--token"],
  ])("ship-hub %j is exit 2 naming the flag left without its value", async (args, flag, next) => {
    const cwd = await mkdtemp(join(tmpdir(), "ship-hub-cli-"));
    try {
      const run = await runHubCli(cwd, args);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(`^ship-hub: ${flag} has no value: the word after it is the option ${next};`),
      );
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
