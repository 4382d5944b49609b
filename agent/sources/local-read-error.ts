/**
 * A failure reading a local release (`type = "local"`, directory or archive) in words naming the
 * key. Node's own errors ("EACCES: permission denied, open '/srv/rel/b.txt'") reached the operator
 * bare, with exit 1, as if the update had failed; a release ship may not read is bad configuration
 * (exit 2), as sftp's "permission denied on the server" is.
 */
import { statSync } from "node:fs";
import { whoRuns } from "../../shared/dir-access.js";
import { BadInputError, ReleaseChangedError } from "../../shared/errors.js";
import { errnoCode, errnoErrorText, fsErrorText } from "../../shared/fs-errors.js";
import { isPermissionDenied } from "../state/record-file.js";

/**
 * `error` as the operator should read it when it came from reading the release at `root`:
 * - EACCES/EPERM on a path of the release: BadInputError on `ship.toml <key>` (exit 2), naming the
 *   path, ship's user, and the path's owner and mode;
 * - ENOENT/ENOTDIR on a path below `root` (a file removed while it was read): ReleaseChangedError
 *   (exit 1, the next run tries again);
 * - any other errno error on a path of the release: the same error class's exit code (1) with
 *   errnoErrorText's "cannot read … (EIO)" as its message.
 * Anything else (ship's own errors, failures on staging paths) is returned as it came.
 */
export function localReadError(error: unknown, root: string, key: string): unknown {
  const code = errnoCode(error);
  const path = (error as NodeJS.ErrnoException).path;
  if (code === undefined || typeof path !== "string" || !within(path, root)) return error;
  if (isPermissionDenied(error)) {
    return BadInputError.single(
      "ship.toml",
      key,
      `${errnoErrorText(error)}: ${ownerOf(path)}ship runs as ${whoRuns()}; let that user read the release`,
    );
  }
  if ((code === "ENOENT" || code === "ENOTDIR") && path !== stripSlash(root)) {
    return new ReleaseChangedError(
      path,
      `disappeared while the release was being read (${fsErrorText(error)}); the next run tries again`,
    );
  }
  return new Error(errnoErrorText(error));
}

function within(path: string, root: string): boolean {
  const base = stripSlash(root);
  return path === base || path.startsWith(`${base}/`);
}

function stripSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/** "it is owned by uid 0, mode 600, and " when ship may stat it; "" otherwise. */
function ownerOf(path: string): string {
  try {
    const st = statSync(path);
    return `it is owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(3, "0")}, and `;
  } catch {
    return "";
  }
}
