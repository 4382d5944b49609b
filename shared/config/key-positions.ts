import { resolve } from "node:path";
import { BadInputError, errorMessage, formatIssue, type Issue } from "../errors.js";
import { parseKeyPath } from "../schema/key-path.js";
import { positionInToml, scanTomlKeys, type TomlKeyPositions } from "./toml-positions.js";

/**
 * Where the keys of each config file this process loaded are written. Checks made after the load
 * (paths on disk, one key against another: a backup_dir inside an app_dir, a jwt_secret_file that
 * is missing) see only the typed config, not the text; the CLI places their issues from here, so
 * they carry line:column as the parse errors do.
 */
const loaded = new Map<string, TomlKeyPositions>();

/** Called with the text of a config file that parsed (a later load of the same file replaces it). */
export function rememberKeyPositions(file: string, text: string): TomlKeyPositions {
  const positions = scanTomlKeys(text);
  loaded.set(resolve(file), positions);
  return positions;
}

/** The issue at the line of its key (the first, when it names several: `a.app_dir, b.app_dir`). */
function placed(issue: Issue): Issue {
  if (issue.line !== undefined || issue.path === "") return issue;
  const positions = loaded.get(resolve(issue.file));
  const path = positions === undefined ? undefined : parseKeyPath(issue.path.split(", ")[0] ?? "");
  const at = positions === undefined || path === undefined ? undefined : positionInToml(positions, path);
  return at === undefined ? issue : { ...issue, line: at.line, column: at.column };
}

/**
 * `error` with its issues placed in the config files they name; `error` itself when none of them
 * could be placed.
 */
export function placeConfigIssues(error: BadInputError): BadInputError {
  const issues = error.issues.map(placed);
  if (issues.every((issue, i) => issue === error.issues[i])) return error;
  const sorted = issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        (a.issue.line ?? Number.MAX_SAFE_INTEGER) - (b.issue.line ?? Number.MAX_SAFE_INTEGER) ||
        a.index - b.index,
    )
    .map(({ issue }) => issue);
  // A check that said its problems on one line (joined by "; ") keeps that line.
  const oneLine = !error.message.includes("\n");
  return new BadInputError(
    sorted,
    sorted
      .filter((i) => i.severity === "error")
      .map(formatIssue)
      .join(oneLine ? "; " : "\n"),
  );
}

/**
 * An error's one line as the CLI prints it: a config problem with its line and column. The daemon's
 * own lines (an edited ship.toml it refuses, an app whose keys cannot work) said only the key.
 */
export function placedMessage(error: unknown): string {
  return error instanceof BadInputError ? placeConfigIssues(error).message : errorMessage(error);
}
