/**
 * The journal's file operations, each with a forward and an undo handler. Handlers are idempotent
 * and safe to run whether or not the forward step happened before a crash, so recovery can simply
 * undo every listed operation in reverse order. The handler map is typed per kind: a new kind
 * without handlers does not compile.
 */
import { lchown, lstat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { makeDirs } from "../../shared/make-dirs.js";
import { setAsideSaved } from "../backup/unrestored.js";
import { faultPoint } from "../fault.js";
import {
  chmodEntry,
  copyEntry,
  copyTempName,
  linkEntry,
  moveEntry,
  ownerLost,
  pathExists,
  removeDirIfEmpty,
  removeIfExists,
  sameEntry,
  type Transfer,
} from "../tree/fs-ops.js";
import type { ConfinedPaths } from "./confined-paths.js";

/** Where a new file comes from: the staged release, or (sibling keep-copies) the backup of `src`. */
export type OpSource = "staging" | "backup";

export type FileOp =
  /** Old app file moved into the backup. */
  | { op: "remove"; rel: string }
  /** `uid`/`gid`: its owner (absent in journals written before they were kept). */
  | { op: "rmdir"; rel: string; mode: number; uid?: number; gid?: number }
  | { op: "mkdir"; rel: string; mode: number }
  /** Old file hard-linked into the backup, then the new one renamed over it (never a missing file). */
  | { op: "replace"; rel: string; from: OpSource; src: string }
  /** A file the app did not have. */
  | { op: "add"; rel: string; from: OpSource; src: string }
  /** An existing directory's mode the release changed (`was`: the app's, put back by undo). */
  | { op: "chmod"; rel: string; mode: number; was: number };

export interface OpContext {
  appDir: string;
  stagingDir: string;
  /** <backup>/files: old versions by relative path. */
  backupFiles: string;
  /** Told whenever a cheap operation had to copy (different filesystems), for one log line. */
  onCopy: (rel: string) => void;
  /** Told of a file saved into the backup whose copy could not keep its owner (`uid:gid`). */
  onOwnerLost?: (rel: string, owner: string) => void;
  /** Undo never reaches through a directory someone replaced with a symlink since the apply. */
  confined?: ConfinedPaths;
}

type Handler<K extends FileOp["op"]> = (op: Extract<FileOp, { op: K }>, ctx: OpContext) => Promise<void>;
type Handlers = { [K in FileOp["op"]]: { forward: Handler<K>; undo: Handler<K> } };

function note(ctx: OpContext, rel: string, how: Transfer): void {
  if (how !== "renamed" && how !== "linked") ctx.onCopy(rel);
}

/** note, for a file saved into the backup: a copy there that lost its owner comes back without it. */
function noteSaved(ctx: OpContext, rel: string, how: Transfer): void {
  note(ctx, rel, how);
  const owner = ownerLost(how);
  if (owner !== undefined) ctx.onOwnerLost?.(rel, owner);
}

async function install(op: { rel: string; from: OpSource; src: string }, ctx: OpContext): Promise<void> {
  const target = join(ctx.appDir, op.rel);
  if (op.from === "staging") {
    note(ctx, op.rel, await moveEntry(join(ctx.stagingDir, op.src), target));
    return;
  }
  // A sibling keep-copy is a real copy (a reflink at most), never a hard link: editing the copy in
  // place must not change the backup.
  await makeDirs(dirname(target));
  await copyEntry(join(ctx.backupFiles, op.src), target);
}

async function returnFromBackup(rel: string, ctx: OpContext): Promise<void> {
  const saved = join(ctx.backupFiles, rel);
  if (!(await pathExists(saved))) return;
  if (!(await insideApp(rel, ctx))) {
    await setAsideSaved(dirname(ctx.backupFiles), saved, rel);
    return;
  }
  const target = join(ctx.appDir, rel);
  // The old entry is still in place: the forward step stopped before it changed the app's file
  // (the new one could not be renamed over it: immutable, say; or a full app disk), so the backup
  // holds a copy of what is still there. Moving it back would fail just the same — across
  // filesystems it is a copy into the full disk — and the update that changed nothing was
  // reported "UPDATE FAILED AND RESTORE FAILED" (exit 3).
  if (await sameEntry(saved, target)) {
    await removeIfExists(saved);
    return;
  }
  note(ctx, rel, await moveEntry(saved, target));
}

/** False when `rel` now lies behind a symlinked directory: the undo leaves it alone. */
async function insideApp(rel: string, ctx: OpContext): Promise<boolean> {
  if (ctx.confined === undefined) return true;
  return ctx.confined.reachable(rel);
}

export const fileOpHandlers: Handlers = {
  remove: {
    forward: async (op, ctx) =>
      noteSaved(ctx, op.rel, await moveEntry(join(ctx.appDir, op.rel), join(ctx.backupFiles, op.rel))),
    undo: async (op, ctx) => returnFromBackup(op.rel, ctx),
  },
  rmdir: {
    forward: async (op, ctx) => {
      await removeDirIfEmpty(join(ctx.appDir, op.rel));
    },
    undo: async (op, ctx) => {
      if (await insideApp(op.rel, ctx)) await recreateDir(join(ctx.appDir, op.rel), op);
    },
  },
  mkdir: {
    forward: async (op, ctx) => ensureDir(join(ctx.appDir, op.rel), op.mode),
    undo: async (op, ctx) => {
      if (!(await insideApp(op.rel, ctx))) return;
      if (await removeDirIfEmpty(join(ctx.appDir, op.rel))) ctx.confined?.forget(op.rel);
    },
  },
  replace: {
    forward: async (op, ctx) => {
      noteSaved(ctx, op.rel, await linkEntry(join(ctx.appDir, op.rel), join(ctx.backupFiles, op.rel)));
      await install(op, ctx);
    },
    // The backup copy exists only once the old file was saved; renaming it back restores it atomically.
    undo: async (op, ctx) => returnFromBackup(op.rel, ctx),
  },
  chmod: {
    forward: async (op, ctx) => chmodDir(join(ctx.appDir, op.rel), op.was, op.mode),
    undo: async (op, ctx) => {
      if (await insideApp(op.rel, ctx)) await chmodDir(join(ctx.appDir, op.rel), op.mode, op.was);
    },
  },
  add: {
    forward: install,
    undo: async (op, ctx) => {
      if (!(await insideApp(op.rel, ctx))) return;
      // A directory there is the old one, not yet swapped for this file (a type change killed early).
      const stat = await lstat(join(ctx.appDir, op.rel)).catch(() => undefined);
      if (stat !== undefined && !stat.isDirectory()) await removeIfExists(join(ctx.appDir, op.rel));
    },
  },
};

/** Sets a directory's mode from `from` to `to`; anything else there (or another mode: someone's chmod since) is left alone. */
async function chmodDir(path: string, from: number, to: number): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat?.isDirectory() === true && (stat.mode & 0o7777) === from) await chmodEntry(path, to);
}

export async function ensureDir(path: string, mode: number): Promise<void> {
  if (await pathExists(path)) return;
  await makeDirs(path);
  faultPoint("mkdir:made"); // the app's user may swap it for something else now (its directory)
  await chmodEntry(path, mode); // mkdir's mode is filtered by the umask; the release's mode is what we want
}

/**
 * Brings back a directory an update removed, with the mode and (as root) the owner it had: the
 * operator's `chown -R www-data plugins; chmod 770 plugins` came back as root's 755, which the app
 * could no longer write in. A record without an owner (older journals, backups) gets the mode only.
 */
export async function recreateDir(
  path: string,
  old: { mode: number; uid?: number | undefined; gid?: number | undefined },
): Promise<void> {
  if (await pathExists(path)) return;
  await makeDirs(path);
  if (old.uid !== undefined && old.gid !== undefined) {
    await lchown(path, old.uid, old.gid).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error; // not root: ship's own, as before
    });
  }
  await chmodEntry(path, old.mode); // after the chown (which may clear set-id bits); mkdir's mode is umask-filtered
}

/** The handlers of one op, seen through the union (the typed map above guarantees they match). */
type AnyHandlers = {
  forward: (op: FileOp, ctx: OpContext) => Promise<void>;
  undo: (op: FileOp, ctx: OpContext) => Promise<void>;
};

export function runForward(op: FileOp, ctx: OpContext): Promise<void> {
  return (fileOpHandlers[op.op] as AnyHandlers).forward(op, ctx);
}

export async function runUndo(op: FileOp, ctx: OpContext): Promise<void> {
  await (fileOpHandlers[op.op] as AnyHandlers).undo(op, ctx);
  // A copy across filesystems (staging or backup_dir elsewhere than the app) is written beside its
  // target as `<name>.ship-tmp` and renamed over it: a kill during that copy left the temporary in
  // the app, and recovery said "restored 1.0.0" over a tree with a 60 MB file 1.0.0 never had.
  if ((op.op === "add" || op.op === "replace" || op.op === "remove") && (await insideApp(op.rel, ctx)))
    await removeIfExists(join(ctx.appDir, copyTempName(op.rel))).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") throw error; // its directory is a file again
    });
}
