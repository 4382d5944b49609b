/**
 * A fixture directory built once per test file and put back as built before each use: for files
 * whose every test starts from the same installed app (a history of releases installed by real
 * `ship` runs, a git clone with its first release) and then changes it. Building it again per test
 * was most of such a file's time: a dozen `ship` processes of set-up for two or three of the test's
 * own. Each test still gets the directory as the build left it, whatever the test before did to it.
 */
import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach } from "vitest";

const run = promisify(execFile);

export interface PristineCopy {
  /** Puts the directory back as it was when the copy was taken. */
  restore(): Promise<void>;
  /** Removes the directory and the copy. */
  remove(): Promise<void>;
}

/**
 * Copies the tree `from` into the directory `to` (made if missing; what it holds already stays,
 * as with fs.cp), keeping contents, modes, times, symlinks and hard links (`cp -a`). Node 20's
 * fs.promises.cp stats, opens and sets each entry from JavaScript: ~100 ms of CPU to copy a test's
 * three git repositories (~80 files), ~2.5 times cp's with its process start.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await run("cp", ["-a", `${from}/.`, to]);
}

/**
 * A copy of `dir` as it is now, to put it back at the same path later: the absolute paths a
 * ship.toml, a state file or a git remote holds stay true. `cp -a` keeps contents, modes, owners,
 * times, symlinks and the hard links between the files it copies (the app's files and a state
 * directory's links to them alike); only inode numbers and ctimes are new, as after an operator's
 * own copy, so ship's stat caches find no match and read the files, whose content decides.
 */
export async function keepPristine(dir: string): Promise<PristineCopy> {
  const pristine = `${dir}.pristine`;
  await copyTree(dir, pristine);
  return {
    async restore() {
      await rm(dir, { recursive: true, force: true });
      await copyTree(pristine, dir);
    },
    async remove() {
      for (const d of [dir, pristine]) await rm(d, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `build` once in the calling block's beforeAll (it makes the fixture and returns its
 * directory) and puts that directory back as built before each of the block's tests (keepPristine);
 * both are removed after them.
 */
export function builtOnceRestoredEachTest(build: () => Promise<string>): void {
  let pristine: PristineCopy | undefined;
  // The first test gets the directory the build left: nothing to put back yet.
  let used = false;
  beforeAll(async () => {
    pristine = await keepPristine(await build());
  });
  beforeEach(async () => {
    if (pristine === undefined) throw new Error("the fixture was not built");
    if (used) await pristine.restore();
    used = true;
  });
  afterAll(async () => {
    await pristine?.remove();
  });
}

/**
 * Fixtures by key for the calling block: the first test to ask for `key` gets what `build` makes
 * (its directory and the object the tests use), each later one the same object with the directory
 * put back as built (keepPristine); all removed after the block. For files whose tests fall in
 * groups that each start from one state (a case's first release installed), named without a
 * describe per group.
 */
export function builtOncePerKey<T>(): (
  key: string,
  build: () => Promise<{ dir: string; fixture: T }>,
) => Promise<T> {
  const made = new Map<string, { fixture: T; pristine: PristineCopy }>();
  afterAll(async () => {
    for (const { pristine } of made.values()) await pristine.remove();
    made.clear();
  });
  return async (key, build) => {
    const known = made.get(key);
    if (known !== undefined) {
      await known.pristine.restore();
      return known.fixture;
    }
    const { dir, fixture } = await build();
    made.set(key, { fixture, pristine: await keepPristine(dir) });
    return fixture;
  };
}
