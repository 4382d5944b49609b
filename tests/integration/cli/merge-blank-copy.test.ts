/**
 * A blank config (0 bytes: a disk that filled) is merged as a new copy in every format: the
 * release's keys, with a WARNING. A blank `.json` under merge_json was refused with exit 2 ("the
 * file is empty") on every run, where the same file under merge_yaml took the release's copy.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const v1 = '{\n  "name": "app",\n  "port": 80\n}\n';
const v2 = '{\n  "name": "app",\n  "port": 8080,\n  "tls": true\n}\n';

describe("a blank JSON config", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each(["merge_json", "merge_yaml"])(
    "under %s takes the release's copy, with a WARNING, exit 0",
    async (action) => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "config.json": { action: ${action} }\n`;
      await app.release("v1", manifest("1.0.0"), { "config.json": v1 });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await writeFile(join(app.appDir, "config.json"), "");
      await app.release("v2", manifest("2.0.0"), { "config.json": v2 });
      const run = await runShip(["--config", app.config, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "config.json"), "utf8")).toBe(v2);
      const report = JSON.parse(run.stdout) as {
        apps: { merges?: { file: string; added: string[]; warnings: string[] }[] }[];
      };
      expect(report.apps[0]?.merges).toEqual([
        expect.objectContaining({
          file: "config.json",
          added: ["name", "port", "tls"],
          warnings: [
            "your copy is empty: merged as a new copy (the release's keys added), not as every key deleted by you",
          ],
        }),
      ]);
    },
  );
});

describe("a config a merge emptied", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keeps the operator's deletions at the next merge: ship's own blank result is not taken for a disk that filled", async () => {
    // The operator deleted c and d, and the release dropped a: the merge left the file empty. The
    // next update read that empty file as a disk that filled and put c and d back, with a WARNING.
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "config.toml": { action: merge_toml }\n`;
    await app.release("v1", manifest("1.0.0"), { "config.toml": 'a = "y"\nc = 3\nd = false\n' });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.toml"), 'a = "y"\n');
    await app.release("v2", manifest("2.0.0"), { "config.toml": "c = 3\nd = false\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("");
    await app.release("v3", manifest("3.0.0"), { "config.toml": "c = 3\nd = false\ne = 1\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    // The operator's deletions stay; only the release's new key comes.
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("e = 1\n");
    expect(run.stdout).not.toContain("your copy is empty");
  });
});

describe("a merged config the operator deleted", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("is installed as the release's copy with a WARNING naming the file (it was reinstalled without a word)", async () => {
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "config.json": { action: merge_json }\n`;
    await app.release("v1", manifest("1.0.0"), { "config.json": v1 });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await rm(join(app.appDir, "config.json"));
    await app.release("v2", manifest("2.0.0"), { "config.json": v2 });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.json"), "utf8")).toBe(v2);
    const report = JSON.parse(run.stdout) as { apps: { merges?: { file: string; warnings: string[] }[] }[] };
    const warning =
      "it was not in the app, though ship installed it at the last update (1.0.0): the release's copy was installed in its place, so it holds the release's values, none of yours; if you had values of your own in it, put them back (an earlier copy may be in a backup, ship --list-backups)";
    expect(report.apps[0]?.merges).toEqual([
      expect.objectContaining({ file: "config.json", warnings: [warning] }),
    ]);
    expect(run.stderr).toContain(`merge of config.json: ${warning}`);
  });
});
