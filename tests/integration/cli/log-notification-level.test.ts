import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, logAt } from "./local-app.js";

/**
 * The seed's "Multi-Channel Notifications: … logs": a manifest's `type: log` notification is a
 * record the release asked for, so it reaches the log whatever `[general.logging] level` (or
 * `--quiet`) leaves out of it. Before, an operator who set level = "WARNING" to keep the log quiet
 * lost every on_success record without a word, exit 0.
 */
describe("ship run: a `type: log` notification under a log level that filters its own level", () => {
  let app: LocalApp | undefined;
  afterEach(async () => {
    await app?.cleanup();
    app = undefined;
  });

  async function update(level: string, manifestNotifications: string, args: string[] = []) {
    app = await localApp();
    await app.release("r1", `version: "1.0.0"\n${manifestNotifications}`);
    const readLog = await logAt(app, level);
    const run = await runShip(["--config", app.config, ...args]);
    const lines = await readLog();
    return { run, notes: lines.filter((line) => line.notification === "log") };
  }

  const onSuccess =
    'notifications:\n  on_success:\n    - type: log\n      message: "myapp now runs {version}"\n';

  it.each(["WARNING", "ERROR", "CRITICAL"])(
    "level = %s: the on_success record is in the log file",
    async (level) => {
      const { run, notes } = await update(level, onSuccess);
      expect(run.code, run.stderr).toBe(0);
      expect(notes.map((n) => n.msg)).toEqual(["myapp now runs 1.0.0"]);
      // Written at its own level (info), not promoted: a reader filtering by level sees what it is.
      expect(notes[0]?.level).toBe(30);
    },
  );

  it("--quiet: the run prints only problems, and the log file still gets the record", async () => {
    const { run, notes } = await update("INFO", onSuccess, ["--quiet"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(notes.map((n) => n.msg)).toEqual(["myapp now runs 1.0.0"]);
  });

  it("a notification's own `level: info` on_failure under level = ERROR is in the log file too", async () => {
    const { run, notes } = await update(
      "ERROR",
      'hooks:\n  post_update: ["exit 7"]\nnotifications:\n  on_failure:\n    - type: log\n      level: info\n      message: "myapp {version} failed: {error}"\n',
    );
    expect(run.code, run.stderr).toBe(1);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.msg).toMatch(/^myapp 1\.0\.0 failed: post_update hook\[0\] exited with 7/);
    expect(notes[0]?.level).toBe(30);
  });

  // The seed's ship.toml spells levels as Python does (level = "WARNING"), and ship.toml takes
  // them so; the same word in a notification's `level` was refused, exit 2, nothing installed.
  it.each([
    ["WARNING", 40],
    ["Warn", 40],
    ["CRITICAL", 50],
  ])("a notification's `level: %s` (Python's spelling) is written at that level", async (spelt, pino) => {
    const { run, notes } = await update(
      "INFO",
      `notifications:\n  on_success:\n    - { type: log, level: ${spelt}, message: "myapp now runs {version}" }\n`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(notes.map((n) => [n.msg, n.level])).toEqual([["myapp now runs 1.0.0", pino]]);
  });

  it("a notification's `level: debug` is exit 2 naming the key and what it takes", async () => {
    const { run } = await update(
      "INFO",
      "notifications:\n  on_success:\n    - { type: log, level: debug }\n",
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /notifications\.on_success\[0\]\.level: unknown level "debug" \(expected info, warn, error/,
    );
  });

  it("other info lines stay filtered: only the notification passes the level", async () => {
    const { run } = await update("WARNING", onSuccess);
    expect(run.code, run.stderr).toBe(0);
    const text = await readFile(join(app?.root ?? "", "ship.log"), "utf8");
    expect(text).not.toContain("step apply done");
  });
});
