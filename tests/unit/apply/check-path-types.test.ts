/**
 * The path-type check before the hooks, on real directories: a source's listing is read in its own
 * order with its own path strings (no tree of the release built from it), so its verdict must not
 * depend on that order, and must be the one the check reaches reading the staged release directory
 * by directory. Each case is judged with the listing in walk order, reversed and interleaved, and
 * without a listing, with and without an install index that vouches for the app's directories.
 */

import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPathTypes } from "../../../agent/apply/check-path-types.js";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { writeInstallIndex } from "../../../agent/apply/install-index.js";
import { Manifest } from "../../../shared/manifest/schema.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-path-types-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const manifest = Manifest.parse({ version: "2.0.0", directories: { "data/": { preserve: true } } });

/** What the app holds before the check besides the installed files: files of its own, symlinks. */
interface AppShape {
  files?: string[];
  links?: Record<string, string>;
}

/** 26 release files in 3 nested directories besides the case's own paths, so each order differs. */
const common = [
  "a.txt",
  ...["lib", "lib/sub", "web"].flatMap((d) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${d}/f${i}.js`)),
];

/** Interleaved: the files of each directory not together (a listing no walk makes). */
function interleaved(rels: string[]): string[] {
  const even = rels.filter((_, i) => i % 2 === 0);
  const odd = rels.filter((_, i) => i % 2 === 1);
  return [...odd.reverse(), ...even];
}

async function build(name: string, app: AppShape, release: string[], indexed: boolean) {
  const dir = join(root, `${name}-${indexed ? "indexed" : "bare"}`);
  const appDir = join(dir, "app");
  const releaseDir = join(dir, "release");
  const stateDir = join(dir, "state");
  await mkdir(appDir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  const installed = [...common, ...(app.files ?? [])];
  for (const rel of installed) {
    await mkdir(dirname(join(appDir, rel)), { recursive: true });
    await writeFile(join(appDir, rel), "v1\n");
  }
  for (const [rel, target] of Object.entries(app.links ?? {})) {
    await mkdir(dirname(join(appDir, rel)), { recursive: true });
    await symlink(target, join(appDir, rel));
  }
  for (const rel of release) {
    await mkdir(dirname(join(releaseDir, rel)), { recursive: true });
    await writeFile(join(releaseDir, rel), "v2\n");
  }
  if (indexed) {
    // Written after the app, so every app directory's ctime is older: the check trusts the index.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const files = new IndexFiles();
    for (const rel of common)
      files.set(rel, { sha256: "a".repeat(64), size: 3, mode: 0o644, mtimeMs: 1, ino: 1 });
    await writeInstallIndex(stateDir, {
      version: "1.0.0",
      installedAt: new Date().toISOString(),
      files,
      dirs: [],
    });
  }
  return { appDir, releaseDir, stateDir };
}

/** The check's verdict: "ok", or the message it refused with. */
async function verdict(
  at: { appDir: string; releaseDir: string; stateDir: string },
  order: string[] | undefined,
): Promise<string> {
  const listing =
    order === undefined
      ? undefined
      : new Map(order.map((rel) => [rel, { type: "file", sha256: "b".repeat(64) }]));
  try {
    await checkPathTypes({ manifest, ...at, ...(listing === undefined ? {} : { listing }) });
    return "ok";
  } catch (error) {
    return (error as Error).message;
  }
}

describe("checkPathTypes: the same verdict whatever the listing's order, and without one", () => {
  const cases: [string, AppShape, string[], string | undefined][] = [
    ["nothing in the way", {}, [...common, "lib/sub/new.js", "new/deep/x.js"], undefined],
    [
      "a directory of the app's own where the release ships a file",
      { files: ["lib/sub/conf.toml/local.toml"] },
      [...common, "lib/sub/conf.toml"],
      "lib/sub/conf.toml: the release ships a file where the app has a directory",
    ],
    [
      "a file of the app's own where the release needs a directory, two levels up",
      { files: ["web/assets"] },
      [...common, "web/assets/img/logo.png"],
      "web/assets",
    ],
    [
      "a symlink of the app's own where the release needs a directory",
      { links: { "lib/sub/vendor": "/tmp" } },
      [...common, "lib/sub/vendor/x.js"],
      "lib/sub/vendor",
    ],
    [
      "a directory of the app's own in a protected directory: not the release's to judge",
      { files: ["data/cache.db/local"] },
      [...common, "data/cache.db"],
      undefined,
    ],
  ];
  it.each(cases)("%s", async (name, app, release, refused) => {
    for (const indexed of [false, true]) {
      const at = await build(name.replace(/\W+/g, "-"), app, release, indexed);
      const sorted = [...release].sort();
      const verdicts = [
        await verdict(at, sorted),
        await verdict(at, [...sorted].reverse()),
        await verdict(at, interleaved(sorted)),
        await verdict(at, undefined),
      ];
      if (refused === undefined) expect(verdicts).toEqual(["ok", "ok", "ok", "ok"]);
      else for (const v of verdicts) expect(v, `indexed: ${indexed}`).toContain(refused);
    }
  });
});
