/**
 * A config a merge cannot parse is bad input (exit 2) and changes nothing: refused in verify, before
 * the pre_update hooks; and should it only show at the apply (edited after the check), a failed run
 * (exit 1: the hooks ran, so it is no refusal that changed nothing) with the app's files untouched,
 * the rollback hooks run for what pre_update may have stopped.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPorts } from "../../../agent/pipeline/default-ports.js";
import type { PipelinePorts } from "../../../agent/pipeline/ports.js";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/** Ship's own copies of the previous release's merged files (`<state>/apps/<app>/base/<sha256>`). */
async function baseCopies(): Promise<string[]> {
  const bases = join(box.root, "var", "apps");
  const [appState] = await readdir(bases);
  const baseDir = join(bases, appState ?? "", "base");
  return (await readdir(baseDir)).map((name) => join(baseDir, name));
}

const manifest = (version: string, marker: string) => ({
  version,
  files: { "settings.yaml": { action: "merge_yaml" as const } },
  hooks: { pre_update: [`echo pre >> ${marker}`], rollback: [`echo rollback >> ${marker}`] },
});

/** Installs v1, writes `broken` over the user's settings.yaml and returns v2 (its settings.yaml as given). */
async function installThenBreak(
  marker: string,
  broken: string | Buffer = "a: 1\nb: [1, 2\n",
  settings = "a: 2\n",
): Promise<string> {
  const v1 = await box.release(
    "v1",
    { "app.py": "v1\n", "settings.yaml": "a: 1\n" },
    manifest("1.0.0", marker),
  );
  expect((await box.run(v1)).exitCode).toBe(0);
  await writeFile(marker, "");
  await writeFile(join(box.appDir, "settings.yaml"), broken);
  return box.release("v2", { "app.py": "v2\n", "settings.yaml": settings }, manifest("2.0.0", marker));
}

describe("a user config that does not parse", () => {
  it("is refused before the pre_update hooks: exit 2 naming file:line:column, nothing changed", async () => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker);
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(new RegExp(`${box.appDir}/settings\\.yaml:3:1 cannot merge`));
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("found only by the apply: exit 1, files untouched, rollback hooks run", async () => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker);
    const before = await hashTree(box.appDir);
    const real = defaultPorts();
    // As if the file broke between the check and the apply.
    const ports: PipelinePorts = { ...real, engine: { ...real.engine, checkMerges: async () => {} } };
    const run = await box.run(v2, { ports });
    expect(run.exitCode).toBe(1);
    expect(run.apps[0]?.result).toBe("failed_unchanged");
    expect(run.apps[0]?.message).toMatch(/settings\.yaml:3:1 cannot merge/);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("pre\nrollback\n");
  });

  it("found only by the apply of a release with no pre_update hook: exit 2, no pending record left for the next run", async () => {
    const v1 = await box.release("v1", { "app.py": "v1\n", "settings.yaml": "a: 1\n" }, noHooks("1.0.0"));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "settings.yaml"), "a: 1\nb: [1, 2\n");
    const v2 = await box.release("v2", { "app.py": "v2\n", "settings.yaml": "a: 2\n" }, noHooks("2.0.0"));
    const stateBefore = await readFile(box.stateFile, "utf8");
    const real = defaultPorts();
    const ports: PipelinePorts = { ...real, engine: { ...real.engine, checkMerges: async () => {} } };
    const run = await box.run(v2, { ports });
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(/settings\.yaml:3:1 cannot merge/);
    // The record markPending wrote before the hooks step is taken back: the state is as it was, and
    // the next run (the file put right) installs, where it reported an interrupted update.
    expect(await readFile(box.stateFile, "utf8")).toBe(stateBefore);
    await writeFile(join(box.appDir, "settings.yaml"), "a: 1\n");
    const next = await box.run(v2);
    expect(next.exitCode, next.apps[0]?.message).toBe(0);
    expect(next.apps[0]?.message).not.toMatch(/interrupted/);
    expect(next.apps[0]?.result).toBe("updated");
  });
});

function noHooks(version: string) {
  return { version, files: { "settings.yaml": { action: "merge_yaml" as const } } };
}

describe("a .json config under merge_yaml whose copy is not JSON", () => {
  it("a tsconfig-like comment: exit 2 naming file:line:column, before the hooks, nothing changed", async () => {
    // Read as YAML, `// ours` joined the next key and the merge wrote a file no JSON reader reads.
    const marker = join(box.root, "hooks.log");
    const json = (version: string) => ({
      ...manifest(version, marker),
      files: { "tsconfig.json": { action: "merge_yaml" as const } },
    });
    const v1 = await box.release("v1", { "tsconfig.json": '{\n  "strict": true\n}\n' }, json("1.0.0"));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "tsconfig.json"), '{\n  // ours\n  "strict": true\n}\n');
    await writeFile(marker, "");
    const v2 = await box.release(
      "v2",
      { "tsconfig.json": '{\n  "strict": true,\n  "target": "ES2022"\n}\n' },
      json("2.0.0"),
    );
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(
      `${box.appDir}/tsconfig.json:2:3 cannot merge: the server's copy does not parse: a comment, which JSON does not allow (remove it)`,
    );
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});

describe("a YAML config that parses but has no value", () => {
  // The yaml library finds these only when it builds the values, with a bare Error: the run said
  // "update failed at verify: Merge sources must be maps or map aliases", exit 1, no file named.
  it.each([
    {
      name: "a merge key whose value is not a mapping",
      text: "db:\n  <<: 5\n  a: 1\n",
      says: "2:7 cannot merge: the server's copy does not parse: a merge key (<<) takes a mapping, an alias of one (*name) or a list of those",
    },
    {
      name: "an alias before its anchor",
      text: "a: *x\nb: &x 1\n",
      says: "1:4 cannot merge: the server's copy does not parse: the alias *x has no anchor &x before it",
    },
  ])("$name: exit 2 naming file:line:column, before the hooks", async ({ text, says }) => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker, text);
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(`${box.appDir}/settings.yaml:${says}`);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});

describe("a config whose release copy did not change", () => {
  // A local source stages only what changed: the check before the hooks listed the staging
  // directory, so it never saw this config, and the merge (which still runs: the user's copy
  // differs from the release's) failed at the apply, after the pre_update hooks had run.
  it.each([
    {
      name: "does not parse",
      bytes: Buffer.from("a: 1\nb: [1, 2\n"),
      says: "3:1 cannot merge: the server's copy does not parse",
    },
    {
      name: "is Latin-1",
      bytes: Buffer.from('a: 1\nb: "caf\xe9"\n', "latin1"),
      says: "2:8 cannot merge: the server's copy does not parse: byte 0xE9 is not UTF-8",
    },
  ])("a user copy that $name is refused before the hooks", async ({ bytes, says }) => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker, bytes, "a: 1\n");
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(`${box.appDir}/settings.yaml:${says}`);
    expect(run.lines.some((l) => l.msg === "step verify failed")).toBe(true);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});

describe("a config that is not UTF-8 text", () => {
  // A merge reads and writes UTF-8: a Latin-1 byte would come back as U+FFFD, a UTF-16 file would
  // read as one garbled string the merge keeps whole. Both are refused, naming where, nothing changed.
  const cases: { name: string; bytes: Buffer; at: string; says: RegExp }[] = [
    {
      name: "Latin-1 (a password with é)",
      bytes: Buffer.from('a: 1\npass: "s\xe9cret"\n', "latin1"),
      at: "2:9",
      says: /byte 0xE9 is not UTF-8 .*save it as UTF-8/,
    },
    {
      name: "UTF-16 with its byte-order mark",
      bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a: 1\n", "utf16le")]),
      at: "1:1",
      says: /it is UTF-16 text \(byte-order mark 0xFF 0xFE\); save it as UTF-8/,
    },
    {
      name: "UTF-16 without a byte-order mark",
      bytes: Buffer.from("a: 1\n", "utf16le"),
      at: "1:2",
      says: /holds a NUL byte.*save it as UTF-8/,
    },
  ];

  it.each(cases)("the server's copy in $name: exit 2 naming file:line:column, nothing changed", async (c) => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "settings.yaml": "a: 1\n" }, manifest("1.0.0", marker));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    await writeFile(join(box.appDir, "settings.yaml"), c.bytes);
    const v2 = await box.release("v2", { "settings.yaml": "a: 2\nb: 1\n" }, manifest("2.0.0", marker));
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(
      `${box.appDir}/settings.yaml:${c.at} cannot merge: the server's copy`,
    );
    expect(run.apps[0]?.message).toMatch(c.says);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(join(box.appDir, "settings.yaml"))).toEqual(c.bytes);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("the release's copy in Latin-1: exit 2 naming it, even on a first install", async () => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "app.py": "v1\n" }, manifest("1.0.0", marker));
    await writeFile(join(v1, "settings.yaml"), Buffer.from("# caf\xe9\na: 1\n", "latin1"));
    const run = await box.run(v1);
    expect(run.exitCode).toBe(2);
    // Named in the operator's release directory: a bare `settings.yaml` read as the app's copy.
    expect(run.apps[0]?.message).toContain(`${v1}/settings.yaml:1:6 cannot merge: the release's copy`);
    expect(run.apps[0]?.message).toMatch(/byte 0xE9/);
    expect(await hashTree(box.appDir)).toEqual({});
  });

  it("the release's copy that does not parse is named in the operator's release directory", async () => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "settings.yaml": "a: 1\n" }, manifest("1.0.0", marker));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    const v2 = await box.release("v2", { "settings.yaml": "a: [2\n" }, manifest("2.0.0", marker));
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(
      `${v2}/settings.yaml:2:1 cannot merge: the release's copy does not parse: `,
    );
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});

describe("a replace file with a preserve_user section", () => {
  const sectioned = (version: string, marker: string) => ({
    ...manifest(version, marker),
    files: { "settings.yaml": { action: "merge_yaml" as const, merge_strategy: "replace" as const } },
    merge_strategies: { "settings.yaml": { db: "preserve_user" as const } },
  });

  it("merges the section three-way, and a previous release's copy that does not parse is refused before the hooks", async () => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release(
      "v1",
      { "settings.yaml": "db:\n  host: a\n  pool: 5\n" },
      sectioned("1.0.0", marker),
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "settings.yaml"), "db:\n  host: mine\n  pool: 5\n");
    const v2 = await box.release(
      "v2",
      { "settings.yaml": "db:\n  host: b\n  pool: 10\n" },
      sectioned("2.0.0", marker),
    );
    expect((await box.run(v2)).exitCode).toBe(0);
    // pool was as v1 shipped it: it follows the release; host is the user's.
    expect(await readFile(join(box.appDir, "settings.yaml"), "utf8")).toBe("db:\n  host: mine\n  pool: 10\n");

    for (const copy of await baseCopies()) await writeFile(copy, "db: [broken\n");
    await writeFile(marker, "");
    const v3 = await box.release(
      "v3",
      { "settings.yaml": "db:\n  host: c\n  pool: 20\n" },
      sectioned("3.0.0", marker),
    );
    const before = await hashTree(box.appDir);
    const run = await box.run(v3);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(
      /\/base\/[0-9a-f]{64}:\d+:\d+ cannot merge: the previous release's copy does not parse/,
    );
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("a server copy that does not parse is refused before the hooks, not replaced with the section's values", async () => {
    // The release's copy was taken whole, exit 0: the operator's db.host, which the section keeps,
    // was gone, and only a WARNING said the copy did not parse.
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "settings.yaml": "db:\n  host: a\n" }, sectioned("1.0.0", marker));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "settings.yaml"), "db:\n  host: mine\n  extra: [unclosed\n");
    await writeFile(marker, "");
    const v2 = await box.release("v2", { "settings.yaml": "db:\n  host: b\n" }, sectioned("2.0.0", marker));
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(
      /settings\.yaml:\d+:\d+ cannot merge: the server's copy does not parse/,
    );
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});

describe("a copy that turns non-UTF-8 where the check did not look, or after it", () => {
  const latin1 = Buffer.from('db:\n  pass: "s\xe9cret"\n  pool: 5\n', "latin1");

  it("a replace file whose preserve_user section keeps the server's values: refused before the hooks", async () => {
    // The check skipped the server's copy under replace, and the apply decoded it with U+FFFD:
    // the kept password came back as s\uFFFDcret, exit 0, reported as kept.
    const marker = join(box.root, "hooks.log");
    const sectioned = (version: string) => ({
      ...manifest(version, marker),
      files: { "settings.yaml": { action: "merge_yaml" as const, merge_strategy: "replace" as const } },
      merge_strategies: { "settings.yaml": { db: "preserve_user" as const } },
    });
    const v1 = await box.release(
      "v1",
      { "settings.yaml": "db:\n  pass: x\n  pool: 5\n" },
      sectioned("1.0.0"),
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    await writeFile(join(box.appDir, "settings.yaml"), latin1);
    const v2 = await box.release(
      "v2",
      { "settings.yaml": "db:\n  pass: x\n  pool: 10\n" },
      sectioned("2.0.0"),
    );
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(
      `${box.appDir}/settings.yaml:2:11 cannot merge: the server's copy does not parse: byte 0xE9 is not UTF-8`,
    );
    expect(await readFile(join(box.appDir, "settings.yaml"))).toEqual(latin1);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("a pre_update hook that saves the config as Latin-1: exit 1 at the apply, named, the file untouched", async () => {
    const marker = join(box.root, "hooks.log");
    const saved = join(box.root, "latin1.yaml");
    await writeFile(saved, latin1);
    const rewriting = (version: string) => ({
      ...manifest(version, marker),
      hooks: {
        pre_update: [`echo pre >> ${marker}`, `cp ${saved} ${join(box.appDir, "settings.yaml")}`],
        rollback: [`echo rollback >> ${marker}`],
      },
    });
    const v1 = await box.release(
      "v1",
      { "settings.yaml": "db:\n  pass: x\n  pool: 5\n" },
      manifest("1.0.0", marker),
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    const v2 = await box.release(
      "v2",
      { "settings.yaml": "db:\n  pass: x\n  pool: 10\n" },
      rewriting("2.0.0"),
    );
    const run = await box.run(v2);
    expect(run.exitCode).toBe(1);
    expect(run.apps[0]?.result).toBe("failed_unchanged");
    expect(run.apps[0]?.message).toMatch(
      `${box.appDir}/settings.yaml:2:11 cannot merge: the server's copy does not parse: byte 0xE9 is not UTF-8`,
    );
    // What the hook wrote stays byte for byte: no U+FFFD written over the password.
    expect(await readFile(join(box.appDir, "settings.yaml"))).toEqual(latin1);
    expect(await readFile(marker, "utf8")).toBe("pre\nrollback\n");
  });

  it("the previous release's copy broken after the check: named as ship's copy at the apply too", async () => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "settings.yaml": "a: 1\n" }, manifest("1.0.0", marker));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "settings.yaml"), "a: mine\n");
    const [shipsCopy = ""] = await baseCopies();
    for (const [broken, says] of [
      ["a: [1\n", "does not parse: "],
      [Buffer.from("a: caf\xe9\n", "latin1"), "does not parse: byte 0xE9 is not UTF-8"],
    ] as const) {
      await writeFile(shipsCopy, broken);
      const v2 = await box.release("v2", { "settings.yaml": "a: 1\nb: 1\n" }, manifest("2.0.0", marker));
      const real = defaultPorts();
      // As if ship's copy broke between the check and the apply.
      const ports: PipelinePorts = { ...real, engine: { ...real.engine, checkMerges: async () => {} } };
      const before = await hashTree(box.appDir);
      const run = await box.run(v2, { ports });
      expect(run.exitCode).toBe(1);
      const message = run.apps[0]?.message ?? "";
      expect(message).toContain(`${shipsCopy}:`);
      expect(message).toContain(`cannot merge: the previous release's copy ${says}`);
      expect(message).toContain(
        "that file is ship's copy of settings.yaml as the previous release installed it",
      );
      expect(await hashTree(box.appDir)).toEqual(before);
    }
  });
});

describe("the previous release's copy that does not parse", () => {
  // It is ship's own copy (<state>/apps/<app>/base/<sha256>), but the message named the app's
  // settings.yaml, which parses fine: the operator looked at the wrong file and had no way out.
  it("is named by ship's path, with what deleting it does; deleting it lets the next run merge", async () => {
    const marker = join(box.root, "hooks.log");
    const v1 = await box.release("v1", { "settings.yaml": "a: 1\nb: 2\n" }, manifest("1.0.0", marker));
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(join(box.appDir, "settings.yaml"), "a: mine\nb: 2\n");
    const [shipsCopy = ""] = await baseCopies();
    await writeFile(shipsCopy, "a: [1\n");
    await writeFile(marker, "");
    const v2 = await box.release("v2", { "settings.yaml": "a: 1\nb: 3\nc: 1\n" }, manifest("2.0.0", marker));
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    const message = run.apps[0]?.message ?? "";
    expect(message).toContain(`${shipsCopy}:2:1 cannot merge: the previous release's copy does not parse: `);
    expect(message).toMatch(
      /that file is ship's copy of settings\.yaml as the previous release installed it, not yours: delete it and the merge goes on without it/,
    );
    expect(message).not.toContain(join(box.appDir, "settings.yaml"));
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");

    await rm(shipsCopy);
    expect((await box.run(v2)).exitCode).toBe(0);
    expect(await readFile(join(box.appDir, "settings.yaml"), "utf8")).toBe("a: mine\nb: 2\nc: 1\n");
  });
});

describe("a merge rule that merges no file while the file it likely meant is replaced", () => {
  // Rules match in file order: `config/*: replace` above `config/*.toml: merge_toml` replaced the
  // operator's TOML config, and a typo'd path merged nothing while the real file was replaced;
  // both silently, reported as a plain update.
  const warnings = (lines: { level: string; msg: string }[]) =>
    lines.filter((l) => l.level === "warn" && l.msg.startsWith("manifest: ")).map((l) => l.msg);

  it("a glob an earlier glob shadows is named with the rule that wins", async () => {
    const files = {
      "config/*": { action: "replace" as const },
      "config/*.toml": { action: "merge_toml" as const },
    };
    const v1 = await box.release("v1", { "config/app.toml": "a = 1\n" }, { version: "1.0.0", files });
    const run = await box.run(v1);
    expect(run.exitCode).toBe(0);
    expect(warnings(run.lines)).toEqual([
      'manifest: files."config/*.toml" (merge_toml) merges no file: config/app.toml takes files."config/*" (replace), which comes first; put the merge rule above it',
    ]);
  });

  it("a path one typo from a file no rule names is named with that file", async () => {
    const files = { "conf/app.yaml": { action: "merge_yaml" as const } };
    const v1 = await box.release(
      "v1",
      { "config/app.yaml": "a: 1\n", "app.py": "v1\n" },
      { version: "1.0.0", files },
    );
    const run = await box.run(v1);
    expect(run.exitCode).toBe(0);
    expect(warnings(run.lines)).toEqual([
      'manifest: files."conf/app.yaml" (merge_yaml) names no file of the release, and config/app.yaml, which no rule names, is replaced whole (did you mean "config/app.yaml"?)',
    ]);
  });

  it("a merge rule for a file in a protected directory is named with the directory", async () => {
    // Such a file is installed where the app lacks the directory and never written again: the
    // release's new keys never reached the operator's config, and nothing said why.
    const manifest = {
      version: "1.0.0",
      files: { "data/config.yaml": { action: "merge_yaml" as const } },
      directories: { data: { preserve: true } },
    };
    const v1 = await box.release("v1", { "data/config.yaml": "a: 1\n", "app.py": "v1\n" }, manifest);
    const run = await box.run(v1);
    expect(run.exitCode).toBe(0);
    expect(warnings(run.lines)).toEqual([
      // Once: the manifest's own check says it (as --test-manifest does), the run adds no second line.
      "manifest: merge_yaml merges no file: data/config.yaml is in the protected directory data (preserve: true), which ship fills only where the app lacks it and never writes again; keep merged configs out of it",
    ]);
  });

  it("a merge rule for a file the release does not ship, with nothing like it replaced, says nothing", async () => {
    const files = {
      "settings.yaml": { action: "merge_yaml" as const },
      "*.local.toml": { action: "merge_toml" as const },
    };
    const v1 = await box.release("v1", { "app.py": "v1\n" }, { version: "1.0.0", files });
    const run = await box.run(v1);
    expect(run.exitCode).toBe(0);
    expect(warnings(run.lines)).toEqual([]);
  });
});

describe("a config a release starts to merge, whose release copy did not change", () => {
  // Installed under replace, it has no base copy and no `merged` mark in the install index: the
  // check before the hooks took only marked files from those a source left out of staging, so a
  // broken user copy was found only at the apply, after the pre_update hooks had run.
  it.each([
    {
      name: "does not parse",
      bytes: Buffer.from("a: 1\nb: [1, 2\n"),
      says: "3:1 cannot merge: the server's copy does not parse",
    },
    {
      name: "is Latin-1",
      bytes: Buffer.from('a: 1\nb: "caf\xe9"\n', "latin1"),
      says: "2:8 cannot merge: the server's copy does not parse: byte 0xE9 is not UTF-8",
    },
  ])("a user copy that $name is refused before the hooks", async ({ bytes, says }) => {
    const marker = join(box.root, "hooks.log");
    const hooks = { pre_update: [`echo pre >> ${marker}`], rollback: [`echo rollback >> ${marker}`] };
    const files = { "app.py": "v1\n", "settings.yaml": "a: 1\n" };
    const v1 = await box.release("v1", files, { version: "1.0.0", files: {}, hooks });
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    await writeFile(join(box.appDir, "settings.yaml"), bytes);
    const v2 = await box.release("v2", { ...files, "app.py": "v2\n" }, manifest("2.0.0", marker));
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(`${box.appDir}/settings.yaml:${says}`);
    expect(run.lines.some((l) => l.msg === "step verify failed")).toBe(true);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("the release's copy that is Latin-1 is refused before the hooks, named in the release directory", async () => {
    // It has no base copy (it was installed whole) and the source left it out of staging: the
    // check read no release copy, and the apply refused it after the pre_update hooks had run.
    const marker = join(box.root, "hooks.log");
    const hooks = { pre_update: [`echo pre >> ${marker}`], rollback: [`echo rollback >> ${marker}`] };
    const latin1 = Buffer.from('a: 1\nb: "caf\xe9"\n', "latin1");
    const files = { "app.py": "v1\n", "settings.yaml": "" };
    const v1 = await box.release("v1", files, { version: "1.0.0", files: {}, hooks });
    await writeFile(join(v1, "settings.yaml"), latin1);
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeFile(marker, "");
    await writeFile(join(box.appDir, "settings.yaml"), "a: 5\n");
    const v2 = await box.release("v2", { ...files, "app.py": "v2\n" }, manifest("2.0.0", marker));
    await writeFile(join(v2, "settings.yaml"), latin1);
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toContain(
      `${v2}/settings.yaml:2:8 cannot merge: the release's copy does not parse: byte 0xE9 is not UTF-8`,
    );
    expect(run.lines.some((l) => l.msg === "step verify failed")).toBe(true);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });
});
