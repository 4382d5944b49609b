/**
 * The size limit of a `git fetch` (max_download_mb, as http, sftp and the hub's downloads have):
 * git has no setting that bounds what a fetch receives, so a remote that sent a huge or endless pack
 * filled the disk for the whole max_download_seconds. The pack git receives is written to
 * `objects/pack/tmp_pack_*` (index-pack; a dumb-http fetch writes `*.pack.temp`), so its size on
 * disk is what is watched, a few times a second; over the limit, the fetch is ended and the
 * partial pack removed. runGitFetch makes git always index the pack (transfer.unpackLimit=1): below
 * its default of 100 objects it unpacked them into loose objects, which one endless object defeats.
 */
import { lstat, readdir, rm, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

/** How often the pack's size is read: what an endless remote can send past the limit is its rate × this. */
const POLL_MS = 100;
/** Filesystem times trail the clock by up to a tick: a pack started as the fetch did is counted. */
const CLOCK_SLACK_MS = 1000;

const RECEIVING = /^tmp_pack_|\.pack\.temp$/;
/** What index-pack leaves beside a pack it was cut off writing. */
const LEFT_BY_CUT = /^tmp_(?:pack|idx|rev)_|\.pack\.temp$/;

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

export interface PackSizeWatch {
  /** Bytes received when the limit was passed, else undefined. */
  over: () => number | undefined;
  /** Stops watching; after a fetch ended at the limit, removes what it was writing. */
  end: () => Promise<void>;
}

/**
 * Watches the clone's pack directory (`packDir`, as `git rev-parse --git-path objects/pack` says it,
 * relative to `cwd`) until end(); `onOver` is called once, when the packs being received pass
 * `maxBytes` together. Files written before the fetch began (a fetch killed long ago) are not its own.
 */
export function watchPackSize(
  cwd: string,
  packDir: Promise<string | undefined>,
  maxBytes: number,
  onOver: () => void,
): PackSizeWatch {
  const startedAt = Date.now() - CLOCK_SLACK_MS;
  let overBytes: number | undefined;
  let ended = false;
  let reading: Promise<void> = Promise.resolve();
  const dir = packDir.then((path) => (path === undefined || isAbsolute(path) ? path : join(cwd, path)));
  const ownFiles = async (path: string, pattern: RegExp) => {
    const names = await readdir(path).catch(() => [] as string[]);
    const files = await Promise.all(
      names
        .filter((name) => pattern.test(name))
        .map(async (name) => {
          const info = await stat(join(path, name)).catch(() => undefined);
          return info !== undefined && info.mtimeMs >= startedAt ? { name, size: info.size } : undefined;
        }),
    );
    return files.filter((file) => file !== undefined);
  };
  const measure = async () => {
    const path = await dir;
    if (path === undefined || ended || overBytes !== undefined) return;
    const bytes = (await ownFiles(path, RECEIVING)).reduce((sum, file) => sum + file.size, 0);
    if (bytes > maxBytes && !ended) {
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
    over: () => overBytes,
    end: async () => {
      ended = true;
      clearInterval(timer);
      await reading.catch(() => undefined);
      const path = await dir;
      if (overBytes === undefined || path === undefined) return;
      const left = await ownFiles(path, LEFT_BY_CUT);
      await Promise.all(left.map((file) => rm(join(path, file.name), { force: true })));
    },
  };
}
