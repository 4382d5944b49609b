/**
 * Filesystem errors in words. Node's own message ("ENOSPC: no space left on device, write") names
 * neither the file nor what ship was doing, so callers wrap it with these.
 */
import { ExitCode, errorMessage, ShipError } from "./errors.js";

/** The errno code of a Node system error, if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

const WORDS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only filesystem",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "input/output error",
  EMFILE: "too many open files",
  ENOENT: "no such file or directory",
  EEXIST: "already exists",
  ENOTDIR: "a component of the path is not a directory",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "name too long",
  EMLINK: "too many links",
  ENOTFOUND: "no such host",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ECONNREFUSED: "connection refused",
  // Network errors a source meets: Node's "read ECONNRESET" says nothing to an operator.
  ECONNRESET: "connection reset by the other end",
  ECONNABORTED: "connection aborted",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network unreachable",
};

/** "no space left on device (ENOSPC)"; for anything that is not an errno error, its message. */
export function fsErrorText(error: unknown): string {
  const code = errnoCode(error);
  if (code === undefined) return errorMessage(error);
  return `${WORDS[code] ?? (error as Error).message.replace(/^[A-Z0-9]+: /, "").split(",")[0]} (${code})`;
}

/** What a failed system call was doing, in words ("create directory" for mkdir). */
const VERBS: Record<string, string> = {
  open: "open",
  mkdir: "create directory",
  mkdtemp: "create a directory in",
  rename: "rename",
  unlink: "remove",
  rmdir: "remove directory",
  rm: "remove",
  link: "hard-link",
  symlink: "create symlink",
  copyfile: "copy",
  scandir: "read directory",
  opendir: "read directory",
  read: "read",
  write: "write",
  stat: "stat",
  lstat: "stat",
  chmod: "change the mode of",
  chown: "change the owner of",
  lchown: "change the owner of",
  utime: "set the times of",
  lutime: "set the times of",
  access: "access",
  fsync: "sync",
};

/**
 * A Node errno error that names a path, in one line: "cannot create directory /var/lib/ship/backups/
 * myapp: permission denied (EACCES)" instead of Node's "EACCES: permission denied, mkdir '…'".
 * Anything else: fsErrorText.
 */
export function errnoErrorText(error: unknown): string {
  const code = errnoCode(error);
  const { path, dest, syscall } = error as NodeJS.ErrnoException & { dest?: unknown };
  if (code === undefined || typeof path !== "string") return fsErrorText(error);
  const verb = (syscall !== undefined && VERBS[syscall]) || syscall || "use";
  const target = typeof dest === "string" ? `${path} to ${dest}` : path;
  return `cannot ${verb} ${target}: ${fsErrorText(error)}`;
}

/**
 * An errno error of a call on a file descriptor (a write, an fsync) names no file: Node's
 * "ENOSPC: no space left on device, write" reached the operator as a bare "no space left on device
 * (ENOSPC)". Given the file's path, as the path-taking calls give theirs, errnoErrorText names it.
 */
export function namingPath(error: unknown, path: string, syscall = "write"): unknown {
  if (error instanceof Error && "code" in error && !("path" in error))
    Object.assign(error, { path, syscall });
  return error;
}

/** Errors that say this machine's disk cannot take a write (full, over quota, read-only). */
export function isLocalDiskFailure(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOSPC" || code === "EDQUOT" || code === "EROFS";
}

/**
 * Writing to this machine's disk failed (full, read-only, no permission): nothing was changed
 * that a later run cannot redo. Exit 1, like any failed update that left the app as it was.
 */
export class LocalWriteError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    /** What was being written, e.g. `staging /var/lib/ship/…` or `state file /var/lib/ship/state.json`. */
    readonly what: string,
    failure: unknown,
  ) {
    super(`cannot write ${what}: ${fsErrorText(failure)}`, { cause: failure });
    this.name = "LocalWriteError";
  }
}
