/**
 * The size limit of a `git fetch` (max_download_mb, as http, sftp and the hub's downloads have):
 * git has no setting that bounds what a fetch receives, so a remote that sent a huge or endless pack
 * filled the disk for the whole max_download_seconds. The pack git receives is written to
 * `objects/pack/tmp_pack_*` (index-pack; a dumb-http fetch writes `*.pack.temp`), so its size on
 * disk is what is watched, a few times a second; over the limit, the fetch is ended. A fetch that
 * ends between two reads (a fast one: a local remote sends megabytes in a few ms) is measured once
 * more when it has ended, from the packs it kept, so no speed slips past the limit. Either way what
 * it received is removed, after its refs are put back (the caller's `restoreRefs`): a ref left naming
 * an object of a removed pack would break the clone. Until it is measured, the fetch is recorded on
 * disk (git-fetch-journal.ts): a run killed before then is undone by the next fetch. runGitFetch makes git always index the pack
 * (transfer.unpackLimit=1): below its default of 100 objects it unpacked them into loose objects,
 * which one endless object defeats.
 */
import { lstat, readdir, rm, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { journalPath, replayJournal, writeJournal } from "./git-fetch-journal.js";
import type { RefsSnapshot } from "./git-refs-snapshot.js";

/** How often the pack's size is read: what an endless remote can send past the limit is its rate × this. */
const POLL_MS = 100;

const RECEIVING = /^tmp_pack_|\.pack\.temp$/;
/** A pack index-pack finished (its .idx, .rev, .keep and .promisor share its name). */
const KEPT = /^pack-[0-9a-f]+\.pack$/;
/** What a fetch writes in the pack directory: its packs and their companions, or what a cut left. */
const WRITTEN = /^pack-[0-9a-f]+\.|^tmp_(?:pack|idx|rev)_|\.pack\.temp$/;

/**
 * Where git writes what a fetch receives in the clone at `localPath`, read from its layout without
 * a git process (a fork is milliseconds of every update, issue 11): `.git/objects/pack` when `.git`
 * is a directory, the clone's own `objects/pack` when it is a bare repository (no `.git`; HEAD,
 * objects/ and refs/ at its top, as git's discovery reads one). git runs with no GIT_DIR or
 * GIT_OBJECT_DIRECTORY (git-env.ts builds its environment), so nothing moves them elsewhere.
 * Anything else (a `.git` file: a linked worktree, a submodule) asks git through `ask`.
 */
export async function packDirOf(
  localPath: string,
  ask: () => Promise<string | undefined>,
): Promise<string | undefined> {
  const isDir = async (path: string) => (await lstat(path).catch(() => undefined))?.isDirectory() === true;
  const dotGit = await lstat(join(localPath, ".git")).catch(() => undefined);
  if (dotGit?.isDirectory() && (await isDir(join(localPath, ".git", "objects", "pack"))))
    return join(localPath, ".git", "objects", "pack");
  if (dotGit === undefined) {
    const [head, pack, refs] = await Promise.all([
      lstat(join(localPath, "HEAD")).catch(() => undefined),
      isDir(join(localPath, "objects", "pack")),
      isDir(join(localPath, "refs")),
    ]);
    if (head?.isFile() && pack && refs) return join(localPath, "objects", "pack");
  }
  return ask();
}

export interface PackSizeLimit {
  /** Most bytes the fetch may receive (max_download_mb). */
  maxBytes: number;
  /** Where the clone keeps its packs (`git rev-parse --git-path objects/pack`, relative to cwd). */
  packDir: Promise<string | undefined>;
  /** The clone's refs, read before the fetch starts. */
  snapshotRefs: () => Promise<RefsSnapshot>;
  /**
   * Puts the clone's refs back to `to`: called before what a fetch past the limit (or one a killed
   * run left unmeasured) received is removed. Refs that cannot be put back keep the packs (rejects).
   */
  restoreRefs: (to: RefsSnapshot) => Promise<void>;
}

export interface PackSizeWatch {
  /** git has started as the leader of process group `pid` (recorded: a killed run's next fetch ends it). */
  started: (pid: number | undefined) => void;
  /** Bytes received when the limit was passed, else undefined. */
  over: () => number | undefined;
  /**
   * Stops watching. `completed`: git exited 0, so what it kept is measured once more. Past the limit
   * (then or before), or not completed, the refs are put back and everything the fetch wrote in the
   * pack directory is removed. Resolves with the bytes a completed fetch within the limit kept (0:
   * it received nothing, or was not kept); rejects when the refs cannot be put back (the packs are
   * kept then, and the next fetch tries again).
   */
  end: (completed: boolean) => Promise<number>;
}

/**
 * Watches the clone's pack directory until end(); `onOver` is called once, when the packs being
 * received pass `limit.maxBytes` together. Resolves once the directory's files and the refs before
 * the fetch are known and recorded, after undoing what a killed run's fetch left unmeasured — start
 * git after it: only files not among them are the fetch's (a pack of a run a moment ago is not).
 */
export async function watchPackSize(
  cwd: string,
  limit: PackSizeLimit,
  onOver: () => void,
): Promise<PackSizeWatch> {
  const packDir = await limit.packDir;
  const dir = packDir === undefined || isAbsolute(packDir) ? packDir : join(cwd, packDir);
  if (dir !== undefined)
    await replayJournal(journalPath(dir), cwd, {
      restoreRefs: limit.restoreRefs,
      removeNew: (kept) => removeNew(dir, kept),
    });
  const [refs, names] = await Promise.all([
    limit.snapshotRefs(),
    dir === undefined ? [] : readdir(dir).catch(() => [] as string[]),
  ]);
  const before = new Set(names);
  const journal = dir === undefined ? undefined : await writeJournal(journalPath(dir), refs, before);
  let overBytes: number | undefined;
  let ended = false;
  let reading: Promise<void> = Promise.resolve();
  /** The fetch's own files matching `pattern`, with their sizes (a file gone meanwhile is 0). */
  const ownFiles = async (path: string, pattern: RegExp) => {
    const names = (await readdir(path).catch(() => [] as string[])).filter(
      (name) => pattern.test(name) && !before.has(name),
    );
    return Promise.all(
      names.map(async (name) => ({
        name,
        size: (await stat(join(path, name)).catch(() => undefined))?.size ?? 0,
      })),
    );
  };
  const received = async (path: string, pattern: RegExp) =>
    (await ownFiles(path, pattern)).reduce((sum, file) => sum + file.size, 0);
  const measure = async () => {
    if (dir === undefined || ended || overBytes !== undefined) return;
    const bytes = await received(dir, RECEIVING);
    if (bytes > limit.maxBytes && !ended) {
      overBytes = bytes;
      clearInterval(timer);
      onOver();
    }
  };
  const timer = setInterval(() => {
    reading = reading.then(measure, measure);
  }, POLL_MS);
  timer.unref();
  return {
    started: (pid) => journal?.started(pid),
    over: () => overBytes,
    end: async (completed) => {
      ended = true;
      clearInterval(timer);
      await reading.catch(() => undefined);
      if (dir === undefined) return 0;
      if (overBytes === undefined && completed) {
        const kept = await received(dir, new RegExp(`${KEPT.source}|${RECEIVING.source}`));
        if (kept <= limit.maxBytes) {
          await journal?.remove();
          return kept;
        }
        overBytes = kept;
      }
      // Past the limit, or a fetch that did not finish: nothing it received is kept. A cut fetch
      // (max_download_seconds, a dropped connection) leaves index-pack's temporary files, which
      // git's gc only removes two weeks later (a slow link's tries filled the disk), or a pack
      // already whole (a remote that held the connection open after sending it): unmeasured, and
      // the next fetch found its objects there and installed them past the limit. Even a fetch
      // ended mid-pack may have moved its refs (git can finish as the signal lands).
      await limit.restoreRefs(refs);
      await removeAll(dir, await ownFiles(dir, WRITTEN));
      await journal?.remove();
      return 0;
    },
  };
}

/**
 * Removes what a fetch wrote in the pack directory `dir` that was not among `before`. Refused when a
 * pack among `before` is gone: the clone was repacked since (a `git gc` by hand), and its new pack
 * may hold objects its refs need beside the fetch's, which no file of it tells apart.
 */
async function removeNew(dir: string, before: ReadonlySet<string>): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = new Set(names);
  const gone = [...before].find((name) => KEPT.test(name) && !now.has(name));
  if (gone !== undefined)
    throw new Error(
      `${dir} was repacked after a killed run's fetch (${gone} is gone): ship cannot tell that fetch's objects apart; clone the source again`,
    );
  await removeAll(
    dir,
    names.filter((name) => WRITTEN.test(name) && !before.has(name)).map((name) => ({ name })),
  );
}

async function removeAll(dir: string, files: readonly { name: string }[]): Promise<void> {
  await Promise.all(files.map((file) => rm(join(dir, file.name), { force: true })));
}
