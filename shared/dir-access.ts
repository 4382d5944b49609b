/**
 * A directory the running user cannot use (the agent's app_dir, backup_dir; the hub's data dir and
 * the directory of its --db): an existing one it may not read, write and enter, a missing
 * one whose nearest existing parent it may not create it in, or one on a read-only filesystem (under
 * ship.service: not listed in ReadWritePaths=). Bad input naming the key (exit 2), judged before
 * the lock and before any hook: the update used to run its pre_update hooks (say `systemctl stop
 * myapp`) and only then fail at the apply with "cannot rename … permission denied", or fail its
 * first command with "spawn /bin/sh EACCES" (the command's working directory).
 */
import { constants, Stats } from "node:fs";
import { access, stat } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { errnoCode, fsErrorText } from "./fs-errors.js";

const USE = constants.R_OK | constants.W_OK | constants.X_OK;
const CREATE_IN = constants.W_OK | constants.X_OK;

/**
 * Why ship cannot use `appDir`, or undefined. Wrong kinds and dangling links are kindProblems'.
 * `unit`: the systemd unit the process runs under, named for a read-only filesystem.
 */
export async function appDirAccessProblem(
  appDir: string,
  unit = "ship.service",
): Promise<string | undefined> {
  const dir = resolve(appDir);
  const found = await stat(dir).catch((error: unknown) => error);
  if (found instanceof Stats) {
    if (!found.isDirectory()) return undefined;
    const denied = await access(dir, USE).catch((error: unknown) => error);
    if (denied === undefined) return undefined;
    const user = whoRuns();
    if (errnoCode(denied) === "EPERM")
      // An immutable directory refuses even root: "chown -R root" was no way out.
      return `${dir} may not be changed: ${fsErrorText(denied)} — it is probably immutable (lsattr -d shows i); clear that with chattr -i ${dir}`;
    return errnoCode(denied) === "EROFS"
      ? `${dir} is on a read-only filesystem (under ${unit}: list it in ReadWritePaths=)`
      : `${dir}: ${user} may not read, write and enter it (${owned(found)}): chown -R ${user} ${dir}, as the install steps do (${fsErrorText(denied)})`;
  }
  const code = errnoCode(found);
  if (code === "EACCES" || code === "EPERM") {
    const user = whoRuns();
    const blocker = await unsearchable(dir);
    return blocker === undefined
      ? `${dir}: ${user} may not reach it (${fsErrorText(found)})`
      : `${dir}: ${user} may not reach it: it may not enter ${blocker.path} (${owned(blocker.stats)})`;
  }
  if (code !== "ENOENT") return undefined;
  const parent = await nearestExisting(dir);
  if (parent === undefined) return undefined;
  const denied = await access(parent.path, CREATE_IN).catch((error: unknown) => error);
  if (denied === undefined) return undefined;
  const user = whoRuns();
  return errnoCode(denied) === "EROFS"
    ? `${dir} does not exist, and ${parent.path} is on a read-only filesystem (under ${unit}: list it in ReadWritePaths=)`
    : `${dir} does not exist, and ${user} may not create it in ${parent.path} (${owned(parent.stats)}): create it as root and chown it to ${user} (${fsErrorText(denied)})`;
}

function owned(stats: Stats): string {
  return `owner uid ${stats.uid}, mode ${(stats.mode & 0o7777).toString(8)}`;
}

/** The user ship runs as, for messages: its name, else "uid N". */
export function whoRuns(): string {
  const uid = process.getuid?.();
  // userInfo() throws for a uid without a passwd entry (a container's arbitrary uid).
  try {
    return userInfo().username;
  } catch {
    return uid === undefined ? "ship's user" : `uid ${uid}`;
  }
}

/** The outermost directory on `path`'s way that the running user may not enter. */
async function unsearchable(path: string): Promise<{ path: string; stats: Stats } | undefined> {
  const ancestors: string[] = [];
  for (let at = dirname(path); at !== dirname(at); at = dirname(at)) ancestors.unshift(at);
  for (const at of ancestors) {
    const stats = await stat(at).catch(() => undefined);
    if (stats === undefined) return undefined;
    if ((await access(at, constants.X_OK).catch((error: unknown) => error)) !== undefined)
      return { path: at, stats };
  }
  return undefined;
}

async function nearestExisting(path: string): Promise<{ path: string; stats: Stats } | undefined> {
  for (let at = dirname(path); ; at = dirname(at)) {
    const stats = await stat(at).catch(() => undefined);
    if (stats?.isDirectory()) return { path: at, stats };
    if (stats !== undefined || at === dirname(at)) return undefined;
  }
}
