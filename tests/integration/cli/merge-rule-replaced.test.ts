/**
 * A config ship merged until now that the next release replaces (its rule became `replace`, or the
 * manifest no longer names it): the operator's values went with exit 0 and not a word. Now a
 * WARNING names the file, the operator's keys that went (not the release's own changes) and where
 * their copy is, in the log and the merge report.
 */
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

interface RunJson {
  apps: {
    merges?: { file: string; updated: string[]; removed: string[]; added: string[]; warnings: string[] }[];
  }[];
}

function warnings(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.includes('"level":40'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

describe("a merged config the new release replaces", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("rule now replace: a WARNING names the operator's keys that went, the backup copy and the .bak", async () => {
    await app.release("v1", 'version: "1.0.0"\nfiles:\n  config.yaml: {action: merge_yaml}\n', {
      "config.yaml": "db:\n  host: localhost\n  pool: 5\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const mine = "db:\n  host: db.internal # the replica\n  pool: 5\n  password: s3cret\n";
    await writeFile(join(app.appDir, "config.yaml"), mine);
    await app.release("v2", 'version: "2.0.0"\nfiles:\n  config.yaml: {action: replace, backup: true}\n', {
      "config.yaml": "db:\n  host: localhost\n  pool: 10\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const merges = (JSON.parse(run.stdout) as RunJson).apps[0]?.merges ?? [];
    // db.pool is the release's own change, not the operator's: not named.
    expect(merges.map(({ file, updated, removed, added }) => ({ file, updated, removed, added }))).toEqual([
      { file: "config.yaml", updated: ["db.host"], removed: ["db.password"], added: [] },
    ]);
    const warning = merges[0]?.warnings[0] ?? "";
    expect(warning).toMatch(
      /^config\.yaml was merged until now, but this release's rule for it is replace \(files\."config\.yaml"\): it was replaced whole with the release's copy, so these values of yours went: db\.host, db\.password; your comments went: # the replica \(line 2\); your copy is in the backup, (\S+), and in config\.yaml\.bak/,
    );
    expect(warnings(run.stderr)).toContain(warning);
    const backupCopy = /your copy is in the backup, (\S+),/.exec(warning)?.[1] ?? "";
    expect(await readFile(backupCopy, "utf8")).toBe(mine);
    expect(await readFile(join(app.appDir, "config.yaml.bak"), "utf8")).toBe(mine);
  });

  it("rule removed: the TOML config no rule names is replaced, with the WARNING", async () => {
    await app.release("v1", 'version: "1.0.0"\nfiles:\n  app.toml: {action: merge_toml}\n', {
      "app.toml": 'port = 80\nlevel = "info"\n',
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "app.toml"), 'port = 8080\nlevel = "info"\n');
    await app.release("v2", 'version: "2.0.0"\n', { "app.toml": 'port = 80\nlevel = "debug"\n' });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr).filter((w) => w.startsWith("app.toml"))).toEqual([
      expect.stringMatching(
        /^app\.toml was merged until now, but this release's manifest has no rule for it \(a file no rule names is replaced\): it was replaced whole with the release's copy, so these values of yours went: port; your copy is in the backup, \S+\/files\/app\.toml \(to keep merging it, give it a merge rule again\)$/,
      ),
    ]);
  });

  it("file dropped by the release: the removal is a WARNING naming the operator's keys and the backup copy", async () => {
    const manifest = (v: string) => `version: "${v}"\nfiles:\n  config.yaml: {action: merge_yaml}\n`;
    await app.release("v1", manifest("1.0.0"), { "config.yaml": "db:\n  host: localhost\n  pool: 5\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const mine = "db:\n  host: db.internal\n  pool: 5\n  password: s3cret\n";
    await writeFile(join(app.appDir, "config.yaml"), mine);
    await app.release("v2", manifest("2.0.0"), { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    const [warning = ""] = warnings(run.stderr).filter((w) => w.startsWith("config.yaml"));
    expect(warning).toMatch(
      /^config\.yaml was merged until now, but this release no longer ships it: it was removed, so these values of yours went: db\.host, db\.password; your copy is in the backup, (\S+\/files\/config\.yaml)$/,
    );
    const backupCopy = /in the backup, (\S+)$/.exec(warning)?.[1] ?? "";
    expect(await readFile(backupCopy, "utf8")).toBe(mine);
  });

  it("a release shipping the config as a symlink: the WARNING names the link, not the merge rule, as the cause", async () => {
    // Was: "… this release's rule for it is merge_yaml (files."config.yaml"): it was replaced whole
    // … (to keep merging it, give it a merge rule again)", though the rule was a merge rule already.
    const manifest = (v: string) => `version: "${v}"\nfiles:\n  config.yaml: {action: merge_yaml}\n`;
    await app.release("v1", manifest("1.0.0"), { "config.yaml": "db:\n  host: localhost\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.yaml"), "db:\n  host: db.internal\n");
    const v2 = await app.release("v2", manifest("2.0.0"), {
      "defaults/config.yaml": "db:\n  host: localhost\n",
    });
    await symlink("defaults/config.yaml", join(v2, "config.yaml"));
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr).filter((w) => w.startsWith("config.yaml"))).toEqual([
      expect.stringMatching(
        /^config\.yaml was merged until now, but this release ships it as a symlink, which is never merged \(files\."config\.yaml" is merge_yaml\): it was replaced whole with the release's copy, so these values of yours went: db\.host; your copy is in the backup, \S+ \(to keep merging it, ship it as a regular file\)$/,
      ),
    ]);
  });

  it("comments alone: a replace that takes only the operator's comments says so", async () => {
    await app.release("v1", 'version: "1.0.0"\nfiles:\n  app.toml: {action: merge_toml}\n', {
      "app.toml": "# shipped\nport = 80\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "app.toml"), "# shipped\n# ops: port is fixed by the LB\nport = 80\n");
    await app.release("v2", 'version: "2.0.0"\nfiles:\n  app.toml: {action: replace}\n', {
      "app.toml": "port = 81\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr).filter((w) => w.startsWith("app.toml"))).toEqual([
      expect.stringMatching(
        /^app\.toml was merged until now, but this release's rule for it is replace \(files\."app\.toml"\): it was replaced whole with the release's copy, so your comments went: # ops: port is fixed by the LB \(line 2\); your copy is in the backup, /,
      ),
    ]);
  });

  it("says nothing when the operator had changed nothing", async () => {
    await app.release("v1", 'version: "1.0.0"\nfiles:\n  config.yaml: {action: merge_yaml}\n', {
      "config.yaml": "a: 1\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", 'version: "2.0.0"\nfiles:\n  config.yaml: {action: replace}\n', {
      "config.yaml": "a: 2\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr)).toEqual([]);
  });
});
