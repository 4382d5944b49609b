/**
 * Paths ship.toml keys name that a run creates when missing but cannot use as the wrong kind: a
 * state_file, lock_file or logging.file that is a directory, a backup_dir, work_dir or app_dir that is a file.
 * Bad input naming the key (exit 2), before anything is read or written, instead of "internal
 * error: EISDIR" or an update that fails at its apply with a bare ENOTDIR (exit 1). Its own module:
 * every CLI mode that loads ship.toml runs it, the restore bundle included.
 */
import { stat } from "node:fs/promises";
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError, formatIssue, type Issue } from "../../shared/errors.js";

export interface NamedPath {
  key: string;
  path: string;
  /** What the path must be when it exists (a missing one is created by the run). */
  kind: "directory" | "file";
}

/** What of `paths` exists as the wrong kind (symlinks followed, as the run follows them). */
export async function kindProblems(paths: NamedPath[], configFile: string): Promise<Issue[]> {
  const issues: Issue[] = [];
  for (const { key, path, kind } of paths) {
    const found = await stat(path).catch(() => undefined);
    if (found === undefined || (kind === "directory" ? found.isDirectory() : found.isFile())) continue;
    const is = found.isDirectory()
      ? "a directory"
      : found.isFile()
        ? "a file"
        : "not a regular file or directory";
    issues.push({
      file: configFile,
      path: key,
      message: `${path} is ${is}; it must be a ${kind}`,
      severity: "error",
    });
  }
  return issues;
}

/** [general]: the state file, backup and work directories and the lock file. */
export async function checkGeneralPaths(config: AgentConfig, configFile: string): Promise<void> {
  const { general } = config;
  const paths: NamedPath[] = [
    { key: "general.state_file", path: general.state_file, kind: "file" },
    { key: "general.backup_dir", path: general.backup_dir, kind: "directory" },
  ];
  if (general.work_dir !== undefined)
    paths.push({ key: "general.work_dir", path: general.work_dir, kind: "directory" });
  if (general.lock_file !== undefined)
    paths.push({ key: "general.lock_file", path: general.lock_file, kind: "file" });
  if (general.logging.file !== undefined)
    paths.push({ key: "general.logging.file", path: general.logging.file, kind: "file" });
  const issues = await kindProblems(paths, configFile);
  if (issues.length > 0) throw new BadInputError(issues, issues.map(formatIssue).join("; "));
}
