/**
 * A WARNING is for something new: after an update that warned about the operator's changes (merged
 * configs whose lists both sides changed or with keys that read alike, a linked config, edited replaced files, a symlinked
 * protected directory, a file made a symlink), an update whose release changes none of those files
 * says nothing about them again.
 */
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const manifest = (version: string) => `version: "${version}"
files:
  "config.toml": { action: merge_toml }
  "config.yaml": { action: merge_yaml }
  "config.json": { action: merge_json }
  "linked.toml": { action: merge_toml }
  "local.txt": { action: skip }
  "static.txt": { action: replace, backup: true }
  "br.txt": { action: backup_replace }
directories:
  "data": { preserve: true }
  "docs": { preserve: true }
`;

const release = (variant: string, configs: Record<string, string>) => ({
  ...configs,
  "local.txt": `release ${variant}\n`,
  "static.txt": `static ${variant}\n`,
  "br.txt": `br ${variant}\n`,
  "bin/run.sh": `#!/bin/sh ${variant}\n`,
  "data/seed.txt": `seed ${variant}\n`,
  "docs/a.txt": `doc ${variant}\n`,
});

const v1 = release("a", {
  "config.toml": '[t]\nx = 1\nlist = [1, 2]\n\n[[ep]]\nn = "a"\n',
  "config.yaml": "server:\n  port: 1\n  hosts: [a, b]\n",
  "config.json": '{"a": 1, "l": [1, 2]}\n',
  "linked.toml": "[t]\nx = 1\n",
});
const v2 = release("b", {
  "config.toml": '[t]\nx = 1\nlist = [1, 2, 3]\ny = 2\n\n[[ep]]\nn = "b"\n',
  "config.yaml": "server:\n  port: 1\n  hosts: [a, b, c]\n  tls: true\n",
  "config.json": '{"a": 2, "l": [1, 2, 3]}\n',
  "linked.toml": "[t]\nx = 1\ny = 2\n",
});

describe("an update that changes nothing the operator changed repeats none of the last update's warnings", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("merges, a linked config, skip rules, protected directories, type changes and edited replaced files", async () => {
    await app.release("v1", manifest("1.0.0"), v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const edits = {
      "config.toml": '[t]\nx = 5\nlist = [1, 2, 9]\n\n[[ep]]\nn = "mine"\n',
      // Keys that read alike: named once, not at every later merge of the operator's copy.
      "config.yaml": "server:\n  port: 9\n  hosts: [a, z]\n  1: x\n  '1': y\n",
      "config.json": '{"a": 1, "l": [7]}\n',
      "local.txt": "mine\n",
      "static.txt": "my static\n",
      "br.txt": "my br\n",
      "data/seed.txt": "my data\n",
    };
    for (const [name, text] of Object.entries(edits)) await writeFile(join(app.appDir, name), text);
    const shared = join(app.root, "shared");
    await mkdir(shared);
    await writeFile(join(shared, "linked.toml"), "[t]\nx = 9\n");
    await rm(join(app.appDir, "linked.toml"));
    await symlink(join(shared, "linked.toml"), join(app.appDir, "linked.toml"));
    await rename(join(app.appDir, "docs"), join(shared, "docs"));
    await symlink(join(shared, "docs"), join(app.appDir, "docs"));
    await rm(join(app.appDir, "bin/run.sh"));
    await symlink("/bin/true", join(app.appDir, "bin/run.sh"));

    const warningsOf = async (name: string, version: string) => {
      await app.release(name, manifest(version), { ...v2, "app.txt": `${name}\n` });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(0);
      return (run.stdout + run.stderr).split("\n").filter((line) => /WARNING|"level":[45]\d/.test(line));
    };
    // The first update has things to say (the lists both sides changed, the link, the edits it replaced).
    const first = await warningsOf("v2", "2.0.0");
    expect(first.join("\n")).toContain("merge of linked.toml: it is a symlink");
    expect(first.join("\n")).toContain("which you had changed too");
    expect(first.join("\n")).toContain("keys that read alike");
    expect(await warningsOf("v3", "3.0.0")).toEqual([]);
    expect(await warningsOf("v4", "4.0.0")).toEqual([]);
  });
});

describe("a merge_strategies entry that names no key is named once per change of the manifest", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  const strategies = (extra: string) => `files:
  "config.toml": { action: merge_toml, merge_strategy: replace }
merge_strategies:
  "config.toml":
    databse: preserve_user
    server: { strategy: merge_smart, preserve_keys: [prot] }
${extra}`;
  // Each release changes the config, so every update merges the operator's copy again.
  const config = (name: string) => `[database]\nhost = "a"\n[server]\nport = 1\nrelease = "${name}"\n`;
  const warningsOf = async (name: string, version: string, extra = "") => {
    await app.release(name, `version: "${version}"\n${strategies(extra)}`, {
      "config.toml": config(name),
      "app.txt": `${name}\n`,
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    // The WARNING lines only: the JSON log on stderr says each one a second time.
    return (run.stdout + run.stderr).split("\n").filter((line) => /WARNING: .*names no key/.test(line));
  };

  it("says it at the first merge, not at the updates that ship the same mistake again, and again for a new one", async () => {
    await warningsOf("v1", "1.0.0");
    await writeFile(join(app.appDir, "config.toml"), '[database]\nhost = "mine"\n[server]\nport = 1\n');
    const first = await warningsOf("v2", "2.0.0");
    expect(first.join("\n")).toContain('section "databse" names no key');
    expect(first.join("\n")).toContain('preserve_keys entry "prot" names no key');
    expect(await warningsOf("v3", "3.0.0")).toEqual([]);
    expect(await warningsOf("v4", "4.0.0")).toEqual([]);
    // A new mistake is news; the old ones still are not.
    const added = await warningsOf("v5", "5.0.0", "    cache: replace\n");
    expect(added).toHaveLength(1);
    expect(added[0]).toContain('section "cache" names no key');
  });

  it("names a mistake again once a release fixed it and a later one made it again", async () => {
    await warningsOf("v1", "1.0.0");
    expect(await warningsOf("v2", "2.0.0", "    cache: replace\n")).toHaveLength(3);
    await app.release("v3", 'version: "3.0.0"\nfiles:\n  "config.toml": { action: merge_toml }\n', {
      "config.toml": config("v3"),
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const again = await warningsOf("v4", "4.0.0", "    cache: replace\n");
    expect(again).toHaveLength(3);
  });
});

describe("a manifest's own mistakes are said once per change of the manifest", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  // Every kind of mistake the manifest's checks warn about, shipped again by each release.
  const mistakes = (version: string, extra = "") => `version: "${version}"
descripton: a typo
release_date: "soon"
files:
  "config.yaml": { action: merge_json }
  "static.txt": { action: replace, merge_strategy: preserve_user }
  "data/c.toml": { action: merge_toml }
  "conf/*": { action: replace }
  "conf/*.toml": { action: merge_toml }
merge_strategies:
  "config.yml":
    server: preserve_user
directories:
  "logs": { keep_days: 3 }
  "data": { preserve: true }
rollout: { strategy: immediate, stages: [{ percentage: 10 }] }
notifications:
  on_success:
    - type: log
      message: "done {versoin}"
${extra}`;
  const manifestWarnings = async (name: string, version: string, extra = "") => {
    await app.release(name, mistakes(version, extra), {
      "config.yaml": `{"release": "${name}"}\n`,
      "static.txt": `${name}\n`,
      "data/c.toml": "x = 1\n",
      "conf/a.toml": `x = "${name}"\n`,
      "app.txt": `${name}\n`,
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    return (run.stdout + run.stderr).split("\n").filter((line) => line.includes("manifest: "));
  };

  it("the first release's are said, the same ones in the next releases are not, a new one is", async () => {
    const first = await manifestWarnings("v1", "1.0.0");
    expect(first.length).toBeGreaterThanOrEqual(9);
    // Also the one only the release's files show: a merge rule an earlier glob shadows.
    expect(first.join("\n")).toContain('(merge_toml) merges no file: conf/a.toml takes files.\\"conf/*\\"');
    expect(await manifestWarnings("v2", "2.0.0")).toEqual([]);
    expect(await manifestWarnings("v3", "3.0.0")).toEqual([]);
    const added = await manifestWarnings("v4", "4.0.0", "summary: another typo\n");
    expect(added).toHaveLength(1);
    expect(added[0]).toContain('unknown key \\"summary\\"');
  });
});
