/**
 * Locks that keep two ship runs (timer, daemon, an operator's manual run) off the same app: an
 * exclusively created file holding {pid, host, started}. A lock whose pid is dead on this host is
 * stale (the holder was SIGKILLed or the machine rebooted) and is taken over with a warning.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, open, readlink, rm, stat, unlink } from "node:fs/promises";
import { hostname, tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import * as z from "zod";
import { pathFromEnvironment } from "../../shared/cli/non-utf8-arguments.js";
import { BadInputError, LockedError } from "../../shared/errors.js";
import { errnoCode, errnoErrorText, LocalWriteError } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import {
  dirProblem,
  isUnwritableDir,
  linkedWhereNothingIsYet,
  readRecordBytesSync,
  readRecordText,
  unwritableRecord,
} from "../state/record-file.js";
import { realDir } from "../tree/path-on-disk.js";

const LockHolder = z.object({ pid: z.number().int(), host: z.string(), started: z.string() });
export type LockHolder = z.infer<typeof LockHolder>;

const UNREADABLE_GRACE_MS = 10_000;

/** What a lock file is and the way out, when something else stands in its place (record-file.ts). */
const LOCK_WHAT = "ship's lock file, which each run creates and removes; remove what is there";

export interface HeldLock {
  readonly file: string;
  release(): Promise<void>;
}

export async function acquireLock(file: string, log: Logger): Promise<HeldLock> {
  await makeDirs(dirname(file)).catch((error: unknown) => {
    throw isUnwritableDir(error) ? unwritableRecord(file, "ship's lock file", error) : error;
  });
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  // A few attempts: each follows removing a stale lock; losing that race to another run is fine.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(file, me)) return heldLock(file, log);
    const found = await readHolder(file);
    if (found === "gone") continue;
    const { holder, raw } = found;
    if (holder !== undefined && isLive(holder)) throw new LockedError(file, describeHolder(holder));
    // An empty lock file may be a live holder between create and write: only old ones are stale.
    if (holder === undefined && (await ageMs(file)) < UNREADABLE_GRACE_MS) {
      throw new LockedError(file, "a run that is still writing its lock file");
    }
    const was = holder === undefined ? "unreadable lock file" : describeHolder(holder);
    log.warn("taking over a stale lock", { lockFile: file, holder: was });
    await removeStale(file, raw, me, was);
  }
  throw new LockedError(file, "another run took the lock while we removed a stale one");
}

/**
 * Two runs that both found the same stale lock must not both remove it (the second would delete
 * the first one's fresh lock): removal happens under a short-lived guard file, and only if the
 * lock still holds exactly the stale content.
 */
async function removeStale(file: string, staleContent: string, me: LockHolder, was: string): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await tryCreate(guard, me))) {
    // A guard left by a run killed mid-takeover is removed; a fresh one means someone else is on it.
    if ((await ageMs(guard)) > UNREADABLE_GRACE_MS) await removeLeftover(guard, "an unfinished takeover");
    return;
  }
  try {
    const current = await readRecordText(file, LOCK_WHAT).catch(() => undefined);
    if (current === staleContent) await removeLeftover(file, `${was}; not running`);
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * The host's lock directory is shared and sticky (mode 1777, as /run/lock): a file another user's
 * run left there (a root run killed mid-update) may be removed only by its owner or root. fs.rm
 * took the EPERM for a directory and said "cannot read directory …: not a directory (ENOTDIR)".
 */
async function removeLeftover(file: string, what: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") return;
    if (code !== "EPERM" && code !== "EACCES") throw new LocalWriteError(`stale lock file ${file}`, error);
    const owner = await stat(file).then(
      (s) => `uid ${s.uid}`,
      () => "another user",
    );
    const me = userInfo();
    throw BadInputError.single(
      file,
      "",
      `is a stale lock (${what}) owned by ${owner}, which ${me.username} (uid ${me.uid}) may not remove from ${dirname(file)} (a sticky directory): remove it as root (rm ${file})`,
    );
  }
}

/**
 * One lock file per app directory: two sources updating the same app_dir exclude each other. Named
 * by the directory's real path: keyed by the spelling, a `--rollback` (which names the app directory
 * as its backup recorded it, `/srv/app`) ran beside an update of `app_dir = "/srv/app/"` or of a
 * symlink to it, ended that update's hook as "left by a killed run" and restored its half-made backup.
 */
export function appLockFile(lockDir: string, appDir: string): string {
  const real = realDir(appDir);
  const readable = real.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "_") || "root";
  const hash = createHash("sha256").update(real).digest("hex").slice(0, 8);
  return join(lockDir, `app-${readable}-${hash}.lock`);
}

/**
 * The host's lock directory for apps, whoever's config names them: two ship.toml with different
 * state directories (a timer's and a daemon's, or an operator's copy) took different `locks/` and
 * updated one app_dir at the same time. /run/lock is the host's (tmpfs, emptied at boot, when every
 * lock is stale anyway); created world-writable and sticky as /run/lock is, so a root run leaves it
 * usable by the service user. SHIP_HOST_LOCK_DIR moves it (a host without /run/lock).
 */
export function hostLockDir(): string {
  return (
    pathFromEnvironment("SHIP_HOST_LOCK_DIR") ??
    (existsSync("/run/lock") ? "/run/lock/ship" : join(tmpdir(), "ship-locks"))
  );
}

/**
 * The app's lock under its config's lock directory, then the host's for its directory: held
 * together, released together. `createHostDir` false (a check, which creates nothing) skips the
 * host's lock when its directory is not there, as then no update holds one.
 *
 * Only another run holding the host's lock refuses the run (LockedError, exit 75). A host's lock
 * this run cannot take at all (a unit with ProtectSystem=strict and no ReadWritePaths for /run/lock,
 * where /run is read-only; a stale lock of root's in the sticky directory that another user may not
 * remove) is a WARNING and the run goes on under its own lock, which still keeps its own config's
 * runs apart: refusing would stop every update of a host whose unit predates the host's locks.
 */
export async function acquireAppLock(
  lockDir: string,
  appDir: string,
  log: Logger,
  createHostDir = true,
): Promise<HeldLock> {
  const own = await acquireLock(appLockFile(lockDir, appDir), log);
  const hostDir = hostLockDir();
  if (!createHostDir && !existsSync(hostDir)) return own;
  let host: HeldLock;
  try {
    if (!existsSync(hostDir)) {
      await makeDirs(hostDir);
      await chmod(hostDir, 0o1777).catch(() => undefined);
    }
    host = await acquireLock(appLockFile(hostDir, appDir), log);
  } catch (error) {
    if (error instanceof LockedError) {
      await own.release();
      throw error;
    }
    log.warn(
      `cannot take the host's lock for ${appDir} in ${hostDir} (${lockProblem(error)}): runs of another ship.toml naming this app_dir are not kept off this one; under systemd give the unit ReadWritePaths=-/run/lock (install.sh's units have it), or set SHIP_HOST_LOCK_DIR to a directory every ship run on this host may write`,
      { appDir, hostLockDir: hostDir },
    );
    return own;
  }
  return {
    file: own.file,
    async release() {
      await host.release();
      await own.release();
    },
  };
}

function lockProblem(error: unknown): string {
  return error instanceof BadInputError ? error.message : errnoErrorText(error);
}

/**
 * The live run holding an app's lock (its config's, or the host's), read without taking it and
 * synchronously (a listing makes no thread-pool round trip). A running update's half-made backup
 * and its journal are on disk exactly as a killed run leaves them: `--list-backups` called them
 * "left by runs killed" and told the operator to `--recover` an update that was under way.
 * Undefined when no live run holds it; a lock that cannot be read is the next run's to judge.
 */
export function liveAppLockHolder(lockDir: string, appDir: string): LockHolder | undefined {
  for (const dir of [lockDir, hostLockDir()]) {
    const holder = holderOf(appLockFile(dir, appDir));
    if (holder !== undefined && isLive(holder)) return holder;
  }
  return undefined;
}

function holderOf(file: string): LockHolder | undefined {
  try {
    const parsed = LockHolder.safeParse(JSON.parse(readRecordBytesSync(file, LOCK_WHAT).toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host}, since ${holder.started}`;
}

async function tryCreate(file: string, me: LockHolder): Promise<boolean> {
  try {
    const handle = await open(file, "wx", 0o644);
    try {
      // Not synced: a lock only keeps out runs that are alive, and after a power cut none is. What a
      // cut can leave (no file, an empty one, or one naming a pid that died with the machine) is
      // taken over like any stale lock, the empty one once its grace time has passed.
      await handle.writeFile(`${JSON.stringify(me)}\n`);
    } catch (error) {
      // An empty lock would block every run for its grace time: a full disk must not leave one.
      await rm(file, { force: true });
      throw error;
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    if (isUnwritableDir(error)) throw unwritableRecord(file, "ship's lock file", error);
    throw errnoCode(error) === undefined ? error : new LocalWriteError(`lock file ${file}`, error);
  }
}

/**
 * The lock's holder, read by the rule for ship's own records (readRecordText): a FIFO in its place
 * (a script's mkfifo) made every run wait for a writer for ever, a directory was a bare EISDIR, exit
 * 1; both are `<lock> is damaged, it is not a file: …`, exit 2.
 */
async function readHolder(file: string): Promise<{ holder: LockHolder | undefined; raw: string } | "gone"> {
  let raw: string;
  try {
    raw = await readRecordText(file, LOCK_WHAT);
  } catch (error) {
    // A symlink leading nowhere: the exclusive create meets the link (EEXIST) and reading finds no
    // file, for ever; every run said "another run took the lock" (exit 75) and nothing updated.
    if (await linkedWhereNothingIsYet(file)) {
      const target = resolve(dirname(file), await readlink(file).catch(() => ""));
      throw BadInputError.single(
        file,
        "",
        `is a symlink to ${target}, which does not exist: a lock file is created exclusively, never through a link; remove the link, or set lock_file to a plain path`,
      );
    }
    if (errnoCode(error) === "ENOENT") return "gone";
    throw error;
  }
  try {
    const parsed = LockHolder.safeParse(JSON.parse(raw));
    return { holder: parsed.success ? parsed.data : undefined, raw };
  } catch {
    // A holder killed between create and write leaves an empty file: as stale as a dead pid.
    return { holder: undefined, raw };
  }
}

async function ageMs(file: string): Promise<number> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function isLive(holder: LockHolder): boolean {
  // A pid on another host (a lock dir on shared storage) cannot be checked: assume it is alive.
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !deadOrReused(holder.pid);
}

/**
 * After a reboot or a long time the pid may be a zombie or belong to an unrelated program; a lock
 * held by `sshd` must not block updates forever. Only Linux /proc tells; elsewhere trust the pid.
 */
function deadOrReused(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) [ZX]/s.test(stat)) return true;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return !/node|ship/.test(cmdline);
  } catch {
    return false;
  }
}

function heldLock(file: string, log: Logger): HeldLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      // unlink, not fs.rm: refused by an immutable directory, rm tried it as a directory and said
      // "cannot read directory …/ship.lock: not a directory (ENOTDIR)". A lock left behind is taken
      // over as stale by the next run, so a run's outcome is not lost to it: one warning says why.
      await unlink(file).catch((error: unknown) => {
        if (errnoCode(error) === "ENOENT") return;
        const why = dirProblem(dirname(file), error) ?? errnoErrorText(error);
        log.warn(`could not remove the lock file ${file}: ${why}; the next run takes it over as stale`);
      });
    },
  };
}
