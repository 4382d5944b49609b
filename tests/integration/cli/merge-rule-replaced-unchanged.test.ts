/**
 * A config merged until now whose rule now replaces it, while the release's copy is the same bytes
 * as the previous release's: the apply kept the merged file (the operator's values and all) with
 * no word, though the same file edited once more after the merge was replaced with the WARNING.
 * Now both get the rule: the release's copy, and the WARNING naming the values that went.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

function warnings(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.includes('"level":40'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

const shipped = "a = 1\nb = 2\n";

describe("a merged config whose release copy did not change, under a rule that now replaces it", () => {
  let app: LocalApp;
  // Every test starts from 2.0.0 merged over the user's edit of 1.0.0's config, put back as built.
  builtOnceRestoredEachTest(async () => {
    app = await localApp();
    const merged = (v: string) => `version: "${v}"\nfiles:\n  config.toml: {action: merge_toml}\n`;
    await app.release("v1", merged("1.0.0"), { "config.toml": "a = 1\nb = 1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.toml"), "a = 10\nb = 1\n");
    await app.release("v2", merged("2.0.0"), { "config.toml": shipped });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("a = 10\nb = 2\n");
    return app.root;
  });

  it.each([
    ["no rule", 'version: "3.0.0"\n', /this release's manifest has no rule for it/],
    [
      "rule replace",
      'version: "3.0.0"\nfiles:\n  config.toml: {action: replace}\n',
      /this release's rule for it is replace \(files\."config\.toml"\)/,
    ],
  ])(
    "%s: the release's copy is installed and the WARNING names the value that went",
    async (_, manifest, why) => {
      await app.release("v3", manifest, { "config.toml": shipped });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe(shipped);
      const [warning = "", ...more] = warnings(run.stderr).filter((w) => w.startsWith("config.toml"));
      expect(more).toEqual([]);
      expect(warning).toMatch(why);
      expect(warning).toMatch(/so these values of yours went: a; your copy is in the backup, \S+/);
    },
  );

  it("merge_strategy now replace: the release's values win, as they do over a copy edited since", async () => {
    await app.release(
      "v3",
      'version: "3.0.0"\nfiles:\n  config.toml: {action: merge_toml, merge_strategy: replace}\n',
      { "config.toml": shipped },
    );
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe(shipped);
    const merges = (JSON.parse(run.stdout) as { apps: { merges?: { updated: string[] }[] }[] }).apps[0]
      ?.merges;
    expect(merges?.map((m) => m.updated)).toEqual([["a"]]);
  });

  it("a merge rule still: the operator's value stays, with no WARNING", async () => {
    await app.release("v3", 'version: "3.0.0"\nfiles:\n  config.toml: {action: merge_toml}\n', {
      "config.toml": shipped,
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("a = 10\nb = 2\n");
    expect(warnings(run.stderr)).toEqual([]);
  });
});
