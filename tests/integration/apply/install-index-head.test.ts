/**
 * Issue 11: an update of 1 % of the app writes ~1 % of the install index — the entries apart from a
 * base (the previous full index, kept by a hard link), not all 20,000 serialized, written and
 * fsynced again. Proven on real trees with real child processes SIGKILLed at each step of that
 * write: the index read back is the one an uninterrupted run leaves, the app old or new; a missing
 * or torn base, a torn head, a backup without its saved base are refused by name before anything
 * moves; rollbacks put each index back whole.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { applyUpdate } from "../../../agent/apply/apply-update.js";
import { indexPath, readInstallIndex } from "../../../agent/apply/install-index.js";
import { recoverApp } from "../../../agent/apply/recover.js";
import { restoreBackup } from "../../../agent/backup/restore.js";
import { Manifest } from "../../../shared/manifest/schema.js";
import { indexOnDisk } from "../../support/index-on-disk.js";
import { snapshot, stage, stageDir, type TreeSpec, tempDir, writeTree } from "./tree-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../../../dist");
const driver = join(here, "fixtures/crash-driver.mjs");

/** 80 modules; `changed` of them carry `v` (the rest "v1"). */
function release(v: string, changed: readonly number[], extra: TreeSpec = {}): TreeSpec {
  const tree: TreeSpec = { ...extra };
  for (let i = 0; i < 80; i++) tree[`pkg/mod${i}.py`] = `m${i} = "${changed.includes(i) ? v : "v1"}"\n`;
  return tree;
}
const V1 = release("v1", [], { "old.py": "gone in 2.0.0\n" });
const V2 = release("v2", [3, 17], { "new.py": "added in 2.0.0\n" });
const V3 = release("v3", [3, 17, 25, 31], { "new.py": "added in 2.0.0\n" });

interface App {
  root: string;
  appDir: string;
  stateDir: string;
  backupRoot: string;
}
const roots: string[] = [];
afterAll(async () => {
  for (const dir of roots) await rm(dir, { recursive: true, force: true });
});

async function app(): Promise<App> {
  const root = await tempDir("index-head");
  roots.push(root);
  const a = {
    root,
    appDir: join(root, "app"),
    stateDir: join(root, "state"),
    backupRoot: join(root, "backups"),
  };
  await writeTree(a.appDir, { "notes.txt": "mine\n" });
  return a;
}

async function install(a: App, tree: TreeSpec, version: string) {
  const release = await stage(a.root, tree, version);
  return applyUpdate({ app: "headapp", ...a, release, manifest: Manifest.parse({ version }) });
}

/** The index file as written (not as read). */
async function onDisk(a: App): Promise<Record<string, unknown>> {
  return indexOnDisk(indexPath(a.stateDir));
}

async function baseNames(a: App): Promise<string[]> {
  return (await readdir(a.stateDir)).filter((n) => n.startsWith("install-index.base-")).sort();
}

/** What the index says ship installed, by path (its sha256), as the next run reads it. */
async function installed(a: App): Promise<Record<string, string>> {
  const index = await readInstallIndex(a.stateDir);
  return Object.fromEntries([...(index?.files ?? [])].map(([rel, f]) => [rel, f.sha256]));
}

/** The same from the app's bytes: every file but the operator's own notes.txt. */
async function appHashes(a: App): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [rel, what] of Object.entries(await snapshot(a.appDir)))
    if (what.startsWith("file ") && rel !== "notes.txt") out[rel] = what.split(" ")[2] as string;
  return out;
}

function killedAt(fault: string, argsFile: string) {
  const child = spawnSync(process.execPath, [driver, "apply", argsFile], {
    env: { ...process.env, SHIP_FAULT: fault },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(child.signal, `${fault} was never reached: ${child.stderr}`).toBe("SIGKILL");
}

async function crashInstall(a: App, tree: TreeSpec, version: string, fault: string): Promise<void> {
  if (!existsSync(join(dist, "agent/apply/index.js"))) throw new Error("dist/ is missing: run npm run build");
  const stagingDir = await stageDir(a.root, tree, version);
  const argsFile = join(a.root, `args-${version}.json`);
  await writeFile(
    argsFile,
    JSON.stringify({ dist, app: "headapp", ...a, stagingDir, manifest: { version } }),
  );
  killedAt(fault, argsFile);
}

describe("an update of a few files writes the install index as its changes on a base", () => {
  it("writes only the changed, added and dropped paths, reads back every entry, and rolls back whole", async () => {
    const a = await app();
    await install(a, V1, "1.0.0");
    const full = await stat(indexPath(a.stateDir));
    expect(Object.keys((await onDisk(a)).files as object)).toHaveLength(81);
    const v2 = await install(a, V2, "2.0.0");
    const head = await onDisk(a);
    expect(head.files).toBeUndefined();
    expect(Object.keys(head.changes as object).sort()).toEqual(["new.py", "pkg/mod17.py", "pkg/mod3.py"]);
    expect(head.dropped).toEqual(["old.py"]);
    // The base is 1.0.0's index itself (one inode: nothing copied), also the backup's saved index.
    const [base] = await baseNames(a);
    expect((await stat(join(a.stateDir, base as string))).ino).toBe(full.ino);
    expect(await installed(a)).toEqual(await appHashes(a));
    const atV2 = await installed(a);

    const v3 = await install(a, V3, "3.0.0");
    const again = await onDisk(a);
    expect(again.base).toEqual(head.base);
    expect(Object.keys(again.changes as object)).toHaveLength(5);
    expect(await installed(a)).toEqual(await appHashes(a));
    // 3.0.0's backup holds 2.0.0's head and the base it names.
    expect((await readdir(v3.backup.path)).filter((n) => n.startsWith("index")).sort()).toEqual([
      "index-base.json",
      "index.json",
    ]);

    await restoreBackup({ backupPath: v3.backup.path });
    expect((await readInstallIndex(a.stateDir))?.version).toBe("2.0.0");
    expect(await installed(a)).toEqual(atV2);
    expect(await baseNames(a)).toEqual([base]);
    await restoreBackup({ backupPath: v2.backup.path });
    expect((await readInstallIndex(a.stateDir))?.version).toBe("1.0.0");
    expect(await installed(a)).toEqual(await appHashes(a));
    // 1.0.0's full index is live again: no base is left behind.
    expect(await baseNames(a)).toEqual([]);
  });

  // The index an older ship left: one JSON object per file under `files`. The first update after
  // the upgrade takes it as its base, a later fold writes it in columns, and rollbacks across the
  // upgrade put each index back whole.
  it("reads the JSON index an older ship wrote, builds on it, and rolls back across the upgrade", async () => {
    const a = await app();
    await install(a, V1, "1.0.0");
    const { columns, ...header } = await onDisk(a);
    expect(columns).toMatchObject({ format: 1, count: 81 });
    await rm(indexPath(a.stateDir));
    await writeFile(indexPath(a.stateDir), JSON.stringify(header));
    const atV1 = await installed(a);
    expect(Object.keys(atV1)).toHaveLength(81);

    const v2 = await install(a, V2, "2.0.0");
    const head = await onDisk(a);
    const [base] = await baseNames(a);
    expect((await indexOnDisk(join(a.stateDir, base as string))).columns).toBeUndefined();
    expect(Object.keys(head.changes as object)).toHaveLength(3);
    expect(await installed(a)).toEqual(await appHashes(a));
    const atV2 = await installed(a);
    // Past an eighth of the base: the whole index, in columns now.
    const v3 = await install(a, release("v3", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "3.0.0");
    expect((await onDisk(a)).columns).toMatchObject({ format: 1, count: 80 });
    expect(await installed(a)).toEqual(await appHashes(a));

    await restoreBackup({ backupPath: v3.backup.path });
    expect(await installed(a)).toEqual(atV2);
    expect(await installed(a)).toEqual(await appHashes(a));
    await restoreBackup({ backupPath: v2.backup.path });
    expect((await onDisk(a)).columns).toBeUndefined();
    expect(await installed(a)).toEqual(atV1);
    expect(await installed(a)).toEqual(await appHashes(a));
  });

  // An entry's key is the app's path: a file named `files` or `changes` at the app's root puts
  // `,"files":{` among a head's changes. The reader of the index's first bytes took that for the
  // end of a full index's scalars, found no base there, and a backup went without it: its rollback
  // then left a head naming a base it had just removed ("the base it names ... is missing").
  it("keeps the base of a head whose changes hold an app file named `files` or `changes`", async () => {
    const a = await app();
    const named = (v: string) => ({ changes: `changes ${v}\n`, files: `files ${v}\n` });
    await install(a, release("v1", [], named("v1")), "1.0.0");
    await install(a, release("v2", [3], named("v2")), "2.0.0");
    expect(Object.keys((await onDisk(a)).changes as object).sort()).toEqual([
      "changes",
      "files",
      "pkg/mod3.py",
    ]);
    const atV2 = await installed(a);
    const v3 = await install(a, release("v3", [3, 17], named("v3")), "3.0.0");
    expect((await readdir(v3.backup.path)).filter((n) => n.startsWith("index")).sort()).toEqual([
      "index-base.json",
      "index.json",
    ]);
    await restoreBackup({ backupPath: v3.backup.path });
    expect(await installed(a)).toEqual(atV2);
    expect(await installed(a)).toEqual(await appHashes(a));
  });

  it("writes the whole index once the changes pass an eighth of the base", async () => {
    const a = await app();
    await install(a, V1, "1.0.0");
    await install(a, release("v2", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "2.0.0");
    expect(Object.keys((await onDisk(a)).files as object)).toHaveLength(80);
    expect(await baseNames(a)).toEqual([]);
  });
});

describe("SIGKILL at each step of writing the index as changes, then recovery", () => {
  const cases: { fault: string; from: [TreeSpec, string][]; to: [TreeSpec, string] }[] = [
    { fault: "index:base-linked", from: [[V1, "1.0.0"]], to: [V2, "2.0.0"] },
    { fault: "apply:finalize", from: [[V1, "1.0.0"]], to: [V2, "2.0.0"] },
    { fault: "apply:committed", from: [[V1, "1.0.0"]], to: [V2, "2.0.0"] },
    {
      fault: "apply:finalize",
      from: [
        [V1, "1.0.0"],
        [V2, "2.0.0"],
      ],
      to: [V3, "3.0.0"],
    },
    {
      fault: "apply:file@2",
      from: [
        [V1, "1.0.0"],
        [V2, "2.0.0"],
      ],
      to: [V3, "3.0.0"],
    },
  ];
  for (const { fault, from, to } of cases) {
    it(`${fault} on the way to ${to[1]}: the app and its index are old or new, never mixed`, async () => {
      const a = await app();
      for (const [tree, version] of from) await install(a, tree, version);
      const before = await snapshot(a.appDir);
      await crashInstall(a, to[0], to[1], fault);
      const result = await recoverApp({ stateDir: a.stateDir });
      const committed = !fault.startsWith("apply:file");
      expect(result.action).toBe(committed ? "completed" : "rolled-back");
      if (!committed) expect(await snapshot(a.appDir)).toEqual(before);
      expect((await readInstallIndex(a.stateDir))?.version).toBe(committed ? to[1] : from.at(-1)?.[1]);
      expect(await installed(a)).toEqual(await appHashes(a));
      // At most the live head's base remains (a crash's unnamed one is gone with the next write).
      const named = ((await onDisk(a)).base as { name: string } | undefined)?.name;
      expect(await baseNames(a)).toEqual(named === undefined ? [] : [named]);
    });
  }
});

describe("a damaged half of an index written as changes is refused by name, nothing moved", () => {
  async function atV2(): Promise<{ a: App; base: string; before: Record<string, string> }> {
    const a = await app();
    await install(a, V1, "1.0.0");
    await install(a, V2, "2.0.0");
    const [base] = await baseNames(a);
    return { a, base: join(a.stateDir, base as string), before: await snapshot(a.appDir) };
  }

  it("a missing base", async () => {
    const { a, base, before } = await atV2();
    await rm(base);
    await expect(install(a, V3, "3.0.0")).rejects.toThrow(
      /install-index\.json is damaged, the base it names \(.*install-index\.base-[0-9a-z]+\.json\) is missing: .*delete it/,
    );
    expect(await snapshot(a.appDir)).toEqual(before);
  });

  it("a torn base (cut short)", async () => {
    const { a, base, before } = await atV2();
    const { size } = await stat(base);
    // The base is a hard link of 1.0.0's backup's saved index: cut a copy, not the backup's.
    const bytes = await readFile(base);
    await rm(base);
    await writeFile(base, bytes.subarray(0, size - 50));
    await expect(install(a, V3, "3.0.0")).rejects.toThrow(
      new RegExp(
        `install-index\\.json is damaged, its base .*install-index\\.base-[0-9a-z]+\\.json is ${size - 50} bytes, not the ${size} it recorded: .*delete it`,
      ),
    );
    expect(await snapshot(a.appDir)).toEqual(before);
  });

  it("a torn head (its tail cut off)", async () => {
    const { a, before } = await atV2();
    await truncate(indexPath(a.stateDir), (await stat(indexPath(a.stateDir))).size - 30);
    await expect(install(a, V3, "3.0.0")).rejects.toThrow(/install-index\.json is damaged/);
    expect(await snapshot(a.appDir)).toEqual(before);
  });

  it("a backup whose saved base was deleted", async () => {
    const { a } = await atV2();
    const v3 = await install(a, V3, "3.0.0");
    const before = await snapshot(a.appDir);
    await rm(join(v3.backup.path, "index-base.json"));
    await expect(restoreBackup({ backupPath: v3.backup.path })).rejects.toThrow(
      /is damaged, the base of its saved install index of 2\.0\.0 \(index-base\.json\) is missing/,
    );
    expect(await snapshot(a.appDir)).toEqual(before);
    expect((await readInstallIndex(a.stateDir))?.version).toBe("3.0.0");
  });
});
