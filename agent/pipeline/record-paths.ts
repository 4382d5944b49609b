/**
 * The records of ship's own a command creates (its lock, the apps' locks/, the state file), judged
 * before it takes a lock. Its own module: `--rollback` loads it at start, without the source checks.
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import { appDirAccessProblem, fileAccessProblem } from "../../shared/dir-access.js";
import { BadInputError, formatIssue, type Issue } from "../../shared/errors.js";
import { globalLockFile, lockDir } from "./paths.js";

/** Which of ship's records a command creates: the run's lock or the apps' locks/, and the state file. */
export interface RecordPaths {
  lock: "run" | "apps";
  state: boolean;
}

/**
 * The lock is taken first, the state written last: each was a bare errno where its filesystem takes
 * no new file (state_file or lock_file under /proc) — exit 1 for a run, the lock refused before
 * anything ran or the state after the install, and exit 3 ("needs a person") for `--recover`.
 */
export async function recordPathProblems(
  config: AgentConfig,
  configFile: string,
  records: RecordPaths,
): Promise<Issue[]> {
  const { general } = config;
  const issues: Issue[] = [];
  const lockKey = general.lock_file === undefined ? "general.state_file" : "general.lock_file";
  const lock =
    records.lock === "run"
      ? await fileAccessProblem(globalLockFile(config))
      : await appDirAccessProblem(lockDir(config));
  if (lock !== undefined)
    issues.push(error(configFile, records.lock === "run" ? lockKey : "general.state_file", lock));
  const state = records.state ? await fileAccessProblem(general.state_file) : undefined;
  if (state !== undefined) issues.push(error(configFile, "general.state_file", state));
  return issues;
}

/**
 * The records a command other than a run creates (`--recover`, `--rollback`, `--approve`), judged
 * before it takes a lock: bad input naming the key, exit 2, nothing created.
 */
export async function checkRecordPaths(
  config: AgentConfig,
  configFile: string,
  records: RecordPaths,
): Promise<void> {
  const issues = await recordPathProblems(config, configFile, records);
  const once = issues.filter((issue, at) => issues.findIndex((other) => other.path === issue.path) === at);
  if (once.length > 0) throw new BadInputError(once, once.map(formatIssue).join("; "));
}

function error(file: string, path: string, message: string): Issue {
  return { file, path, message, severity: "error" };
}
