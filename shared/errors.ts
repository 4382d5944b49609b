/**
 * Error classes the CLI maps to exit codes in one place (agent/cli/exit-codes.ts).
 * Each carries the facts its message is built from, so callers never format strings themselves.
 */

import { printable } from "./schema/unprintable.js";

/** Exit codes from DESIGN.md "Agent CLI contract". */
export const ExitCode = {
  ok: 0,
  updateFailedRestored: 1,
  badInput: 2,
  restoreFailed: 3,
  locked: 75,
  updateAvailable: 100,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class ShipError extends Error {
  abstract readonly exitCode: ExitCode;
}

/** One problem found in a document, positioned where possible. */
export interface Issue {
  file: string;
  line?: number;
  column?: number;
  /** Key path, e.g. `files."config.toml".action`. */
  path: string;
  message: string;
  severity: "error" | "warning";
}

/**
 * One issue on one line: a line break or other control character in a file name or value the
 * operator gave (`--config $'x\ny'`, `--app-dir $'x\ny'`, an `app_dir` with `\n` in ship.toml)
 * split the refusal over two lines, which a log or a script reading stderr's first line took for two
 * messages. Written as `\n`, `\u001b`, in the file, the key path and the message alike.
 */
export function formatIssue(issue: Issue): string {
  const file = printable(issue.file);
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  const path = issue.path === "" ? "" : ` ${printable(issue.path)}:`;
  const prefix = issue.severity === "warning" ? "warning: " : "";
  return `${prefix}${where}${path} ${printable(issue.message)}`;
}

/** A config file, manifest, CLI argument or request body that cannot be used. Exit 2. */
export class BadInputError extends ShipError {
  readonly exitCode = ExitCode.badInput;
  /** Each issue once: the yaml library reports one syntax error at one place several times. */
  readonly issues: Issue[];
  constructor(issues: Issue[], message?: string) {
    const once = [...new Map(issues.map((i) => [`${i.severity}\0${formatIssue(i)}`, i])).values()];
    super(
      message ??
        once
          .filter((i) => i.severity === "error")
          .map(formatIssue)
          .join("\n"),
    );
    this.issues = once;
    this.name = "BadInputError";
  }

  static single(file: string, path: string, message: string): BadInputError {
    return new BadInputError([{ file, path, message, severity: "error" }]);
  }
}

/**
 * `error` with its issues about file `from` said of `to` (a staged copy named as the operator knows
 * it, a placeholder as the file read); any other error as it is.
 */
export function issuesMoved(error: unknown, from: string, to: string): unknown {
  if (!(error instanceof BadInputError) || !error.issues.some((issue) => issue.file === from)) return error;
  return new BadInputError(
    error.issues.map((issue) => (issue.file === from ? { ...issue, file: to } : issue)),
  );
}

/** A release that fails verification (checksum, signature, unsafe archive, downgrade). Exit 2. */
export class VerificationError extends ShipError {
  readonly exitCode = ExitCode.badInput;
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(`${what}: ${message}`);
    this.name = "VerificationError";
  }
}

/**
 * The release changed while ship read it (a copy or an upload into the release directory still in
 * progress): nothing was installed, and the next run, which sees it settled, tries again. Exit 1 —
 * not bad input (exit 2): nothing is wrong with the release or the config.
 */
export class ReleaseChangedError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "ReleaseChangedError";
  }
}

/** Another ship run holds the lock. Exit 75. */
export class LockedError extends ShipError {
  readonly exitCode = ExitCode.locked;
  constructor(
    readonly lockFile: string,
    readonly holder: string,
  ) {
    super(`another ship run holds ${lockFile} (${holder})`);
    this.name = "LockedError";
  }
}

/**
 * What a restore of an update that found no version installed did: there was no previous version
 * to bring back, only the app as it was before (empty, the files it already held, or a release ship
 * installed whose install index was deleted since). "No earlier version was installed" was said of
 * the last too, and "removed what it installed" of a restore that also put back what it replaced.
 */
export const RESTORED_PRE_SHIP =
  "undid what it installed: the app is as it was before (no earlier version was recorded)";

/**
 * The version a restore brings back, or the tree before `undid` when no version was recorded before
 * it: a first install, or an update that found the install index deleted. "The tree before ship's
 * first install" was said of the latter too, about an app ship had installed before.
 */
export function restoredVersionLabel(version: string | null | undefined, undid: string | undefined): string {
  if (version !== null && version !== undefined) return version;
  return `the tree before ship installed ${undid ?? "the release it undoes"} (no version recorded before it)`;
}

/** The update failed; the app was restored to its previous version. Exit 1. */
export class UpdateFailedError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly app: string,
    readonly step: string,
    readonly reason: string,
    restored = "restored the previous version",
  ) {
    super(`${app}: update failed at ${step}: ${reason}; ${restored}`);
    this.name = "UpdateFailedError";
  }
}

/** The update stopped before the app's files were touched: nothing to restore. Exit 1. */
export class UpdateNotAppliedError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly app: string,
    readonly step: string,
    readonly reason: string,
  ) {
    super(`${app}: update failed at ${step}: ${reason}; the app's files were not changed`);
    this.name = "UpdateNotAppliedError";
  }
}

/**
 * A restore (a rollback asked for by name, or the undo of a failed update) refused before it changed
 * anything, e.g. a directory it must write in is not writable. Exit 1: the app is as it was.
 */
export class RestoreNotStartedError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly app: string,
    readonly reason: string,
  ) {
    super(`${app}: cannot restore: ${reason}; nothing was changed`);
    this.name = "RestoreNotStartedError";
  }
}

/**
 * A restore stopped after it had started moving files: the app is partly restored, and its journal
 * is kept so that `ship --recover` finishes it once the cause is fixed. Exit 3: it needs a person.
 */
export class RestoreInterruptedError extends ShipError {
  readonly exitCode = ExitCode.restoreFailed;
  constructor(
    readonly app: string,
    readonly reason: string,
  ) {
    super(
      `${app}: RESTORE STOPPED HALF-WAY — ${reason}; the app is partly restored: fix that, then run \`ship --recover\` to finish the restore`,
    );
    this.name = "RestoreInterruptedError";
  }
}

/** The update failed and restoring failed too: a person must look. Exit 3. */
export class RestoreFailedError extends ShipError {
  readonly exitCode = ExitCode.restoreFailed;
  constructor(
    readonly app: string,
    readonly reason: string,
    readonly restoreReason: string,
  ) {
    super(
      `${app}: UPDATE FAILED AND RESTORE FAILED — the app needs a person. update: ${reason}; restore: ${restoreReason}`,
    );
    this.name = "RestoreFailedError";
  }
}

/** An error's message, or the thrown value as text when it is not an Error (a string, a number). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
