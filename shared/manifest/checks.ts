import { Minimatch } from "minimatch";
import { runsCommand } from "../conditions/ast.js";
import { ConditionSyntaxError, parseCondition } from "../conditions/parse.js";
import { isPlainObject } from "../plain-object.js";
import { didYouMean } from "../schema/did-you-mean.js";
import { fileTypeProblems } from "../schema/file-types.js";
import type { KeyPath } from "../schema/key-path.js";
import type { Problem } from "../schema/problem.js";
import { compareVersions, isVersionLike, ONE_WORD_VERSION } from "../versions.js";
import { globProblem } from "./glob-check.js";
import { unknownPlaceholders } from "./message-placeholders.js";
import { protectedDirectoryOfPattern } from "./protected-pattern.js";
import { parseRolloutDate } from "./rollout-date.js";
import { FileMergeStrategies } from "./schema.js";

function entries(value: unknown): [string, unknown][] {
  return isPlainObject(value) ? Object.entries(value) : [];
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function warning(path: KeyPath, message: string): Problem {
  return { path, message, severity: "warning", at: "key" };
}

function error(path: KeyPath, message: string, at: "key" | "value", offset?: number): Problem {
  return offset === undefined
    ? { path, message, severity: "error", at }
    : { path, message, severity: "error", at, offset };
}

/** A condition that does not parse, pointed at the offending character (empty ones are the schema's). */
function conditionProblem(path: KeyPath, text: unknown): Problem[] {
  if (typeof text !== "string" || text === "") return [];
  try {
    parseCondition(text);
    return [];
  } catch (e) {
    if (!(e instanceof ConditionSyntaxError)) throw e;
    return [error(path, `invalid condition: ${e.message}`, "value", e.offset)];
  }
}

/**
 * Migration keys must be versions, and distinct ones: `1.2` and `v1.2.0` would run in no defined
 * order. One above the release's own version is accepted and never run by this release (an update
 * runs the keys v with installed < v ≤ the release's version): a typo, `2.0.1` in release 2.0.0, so
 * it is a warning naming it.
 */
function migrationProblems(migrations: unknown, release: unknown): Problem[] {
  const problems: Problem[] = [];
  const seen: string[] = [];
  const target = typeof release === "string" && isVersionLike(release) ? release : undefined;
  for (const [version] of entries(migrations)) {
    const path = ["migrations", version];
    if (!isVersionLike(version)) {
      problems.push(error(path, `${JSON.stringify(version)} is not a version, e.g. "1.2.0"`, "key"));
    } else if (target !== undefined && compareVersions(version, target) > 0) {
      const message = `${JSON.stringify(version)} is above this release's version ${JSON.stringify(target)}, so this release never runs it (an update runs the migrations above the installed version up to the release's own)`;
      problems.push(warning(path, message));
    }
    const same = seen.find((other) => compareVersions(other, version) === 0);
    if (same !== undefined) {
      const message = `${JSON.stringify(version)} is the same version as ${JSON.stringify(same)}; merge them`;
      problems.push(error(path, message, "key"));
    }
    seen.push(version);
  }
  return problems;
}

/**
 * A `directories` key that names no directory inside the app: the rule would silently apply to
 * nothing, so `"/srv/app/uploads": {preserve: true}` would leave uploads/ unprotected.
 */
function directoryProblem(dir: string): string | undefined {
  if (dir.startsWith("/")) return "directories are relative to the app directory; remove the leading /";
  if (dir.split("/").some((segment) => segment === "..")) return 'directories must not contain ".." segments';
  if (dir.split("/").every((segment) => segment === "" || segment === "."))
    return "names the app directory itself; name a directory inside it";
  return globSyntaxProblem(dir) ?? spellingProblem(dir);
}

/** Glob syntax (minimatch's, extglobs included) a directory path cannot hold literally. */
const GLOB_SYNTAX = /[*?[{]|[+@!](?=\()/;

/**
 * A directory entry is a path, matched segment by segment (rules.ts), never a glob: `data/*` or
 * `data/**` matched no path, so the release overwrote the data a `preserve: true` rule seemed to
 * guard, and a `remove_directories` glob removed nothing.
 */
function globSyntaxProblem(dir: string): string | undefined {
  const found = GLOB_SYNTAX.exec(dir);
  if (found === null) return undefined;
  const glob = /[+@!]/.test(found[0]) ? `${found[0]}(` : found[0];
  const parent = dir.slice(0, found.index).replace(/\/+$/, "");
  const tail = dir.slice(found.index);
  const hint =
    parent !== "" && /^\*+\/*$/.test(tail)
      ? `write ${JSON.stringify(parent)} to cover everything in it`
      : "write the directory's own name";
  return `is a path, not a glob (${JSON.stringify(glob)} matches nothing here); ${hint}`;
}

/**
 * A leading `./` and a trailing `/` are read away; an empty or `.` segment anywhere else made the
 * entry match no path (`data//uploads`, `data/./uploads`), so it silently guarded nothing.
 */
function spellingProblem(dir: string): string | undefined {
  const segments = dir
    .replace(/^(\.\/+)+/, "")
    .replace(/\/+$/, "")
    .split("/");
  if (!segments.some((segment) => segment === "" || segment === ".")) return undefined;
  const written = segments.filter((segment) => segment !== "" && segment !== ".").join("/");
  return `matches no path as written; write ${JSON.stringify(written)}`;
}

/**
 * `cleanup` entries that name nothing in the app: at run time they were skipped with a warning, so
 * `remove_directories: ["/opt/myapp/legacy_modules"]` validated and never removed anything.
 */
function cleanupProblems(cleanup: unknown): Problem[] {
  if (!isPlainObject(cleanup)) return [];
  const problems: Problem[] = [];
  items(cleanup.remove_files).forEach((pattern, i) => {
    const problem = typeof pattern === "string" && pattern !== "" ? globProblem(pattern) : undefined;
    if (problem !== undefined) problems.push(error(["cleanup", "remove_files", i], problem, "value"));
  });
  items(cleanup.remove_directories).forEach((dir, i) => {
    const problem = typeof dir === "string" && dir !== "" ? directoryProblem(dir) : undefined;
    if (problem !== undefined) problems.push(error(["cleanup", "remove_directories", i], problem, "value"));
  });
  return problems;
}

/**
 * `cleanup_old` prunes only with `keep_days`; each without the other did nothing, silently. Asking
 * for pruning without an age is an error; an age without `cleanup_old: true` is a warning (a rule
 * switched off on purpose may keep its age).
 */
function pruneProblems(directories: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const [dir, rule] of entries(directories)) {
    if (!isPlainObject(rule)) continue;
    if (rule.cleanup_old === true && rule.keep_days === undefined) {
      const message = "cleanup_old needs keep_days: how many days old a file may be before it is removed";
      problems.push(error(["directories", dir, "cleanup_old"], message, "key"));
    }
    if (rule.keep_days !== undefined && rule.cleanup_old !== true) {
      const message = "keep_days has no effect without cleanup_old: true; nothing is pruned";
      problems.push(warning(["directories", dir, "keep_days"], message));
    }
  }
  return problems;
}

/**
 * When a staged rollout starts, checked here as well as when it is used: a `rollout.start` (or the
 * `release_date` it falls back to) that is no date passed --test-manifest and then refused every run.
 */
function rolloutStartProblems(data: Record<string, unknown>): Problem[] {
  const rollout = data.rollout;
  const problems: Problem[] = [];
  const dateProblem = (text: unknown) => {
    if (typeof text !== "string") return undefined;
    const date = parseRolloutDate(text);
    return date.ok ? undefined : date;
  };
  const badStart = isPlainObject(rollout) ? dateProblem(rollout.start) : undefined;
  if (badStart !== undefined) {
    const message = `${badStart.why}, e.g. "2025-01-20T06:00:00Z"`;
    problems.push(error(["rollout", "start"], message, "value"));
  }
  const staged =
    isPlainObject(rollout) && rollout.strategy !== "immediate" && items(rollout.stages).length > 0;
  if (isPlainObject(rollout) && rollout.strategy === "immediate" && items(rollout.stages).length > 0) {
    problems.push(
      warning(["rollout", "stages"], "not used with strategy: immediate (every host takes part)"),
    );
  }
  if (!staged || rollout.start !== undefined) {
    // Only a staged rollout reads the time of day, so a date-time without a zone is no fault here.
    const badDate = dateProblem(data.release_date);
    if (badDate !== undefined && !badDate.zoneOnly) {
      const message = `${JSON.stringify(data.release_date)} is not a date (e.g. "2025-01-20")`;
      problems.push({ path: ["release_date"], message, severity: "warning", at: "value" });
    }
    return problems;
  }
  // Neither given: every run refused it ("a staged rollout needs rollout.start or release_date"),
  // while --test-manifest called the manifest valid.
  if (data.release_date === undefined || data.release_date === null) {
    const message =
      'a staged rollout needs rollout.start (e.g. "2025-01-20T06:00:00Z") or release_date: when its first stage opens';
    problems.push(error(["rollout"], message, "key"));
  } else {
    const badDate = dateProblem(data.release_date);
    if (badDate === undefined) return problems;
    const message = `${badDate.why}; the staged rollout starts at release_date (e.g. "2025-01-20"), or set rollout.start`;
    problems.push(error(["release_date"], message, "value"));
  }
  return problems;
}

/**
 * Stage percentages are cumulative (5, 25, 100). Written as shares (10, 40, 50) the last stage
 * reached half the hosts and the rest never took part; a stage that does not go above an earlier
 * one (50 then 10) adds no host unless criteria keep some hosts out of the earlier stages. Both
 * were accepted without a word: warnings naming the stage.
 */
function stageShareProblems(rollout: unknown): Problem[] {
  if (!isPlainObject(rollout) || rollout.strategy === "immediate") return [];
  const stages = items(rollout.stages).filter(isPlainObject);
  const shares = stages.map((stage) => stage.percentage);
  if (stages.length === 0 || !shares.every((p): p is number => typeof p === "number")) return [];
  const problems: Problem[] = [];
  const percent = (n: number) => String(Number(n.toFixed(4)));
  let reached = -1;
  let criteria = false;
  stages.forEach((stage, i) => {
    const share = shares[i] as number;
    criteria ||= stage.criteria !== undefined;
    if (share <= reached && !criteria) {
      const name = typeof stage.name === "string" ? stage.name : `stage ${i + 1}`;
      const message = `${name} (${percent(share)} %) does not go above an earlier stage's ${percent(reached)} %: percentages are cumulative (5, 25, 100), so it adds no host`;
      problems.push(warning(["rollout", "stages", i, "percentage"], message));
    }
    reached = Math.max(reached, share);
  });
  if (reached >= 100) return problems;
  const top = shares.lastIndexOf(reached);
  const which = top === stages.length - 1 ? "the last stage reaches" : "the stages reach at most";
  const total = shares.reduce((sum, p) => sum + p, 0);
  const asShares = shares.map((_, i) => percent(shares.slice(0, i + 1).reduce((sum, p) => sum + p, 0)));
  const hint =
    stages.length > 1 && Math.abs(total - 100) < 1e-9
      ? `; percentages are cumulative: these add up to 100, as shares would; cumulative, that is ${asShares.join(", ")}`
      : "; percentages are cumulative (5, 25, 100): end with 100 to reach every host";
  const message = `${which} ${percent(reached)} % of hosts, so the other ${percent(100 - reached)} % never take part in this release${hint}`;
  problems.push(warning(["rollout", "stages", top, "percentage"], message));
  return problems;
}

/** A `min_python_version` that is no version (`"abc"`) sorted before every python and was always met. */
function pythonVersionProblem(requirements: unknown): Problem[] {
  const wanted = isPlainObject(requirements) ? requirements.min_python_version : undefined;
  if (typeof wanted !== "string" || wanted === "" || /^\d+(\.\d+){0,2}$/.test(wanted)) return [];
  const message = `${JSON.stringify(wanted)} is not a Python version, e.g. "3.8"`;
  return [error(["requirements", "min_python_version"], message, "value")];
}

const MERGE_ACTIONS: ReadonlySet<unknown> = new Set(["merge_toml", "merge_json", "merge_yaml"]);

/** The `files` rule a path takes, as findFileRule decides it: its exact key, else the first glob. */
function ruleOfPath(files: [string, unknown][], path: string): [string, unknown] | undefined {
  const exact = files.find(([pattern]) => pattern === path);
  // A glob that is no files key is looked up by no file: its own path is never a file's.
  if (exact !== undefined || new Minimatch(path).hasMagic()) return exact;
  return files.find(([pattern]) => new Minimatch(pattern, { dot: true }).match(path));
}

/**
 * A `merge_strategies` entry is found by a merged file's path or by the `files` pattern that
 * matched it; one that names no merged file (`config.yml` for `config.yaml`, a file whose rule is
 * replace) protects nothing, silently: the file is replaced or merged by its own strategy alone.
 */
function mergeStrategyFileProblems(data: Record<string, unknown>): Problem[] {
  const files = entries(data.files).map(([pattern, rule]): [string, unknown] => [
    pattern,
    isPlainObject(rule) ? rule.action : undefined,
  ]);
  const merged = files.filter(([, action]) => MERGE_ACTIONS.has(action)).map(([pattern]) => pattern);
  const problems: Problem[] = [];
  for (const [key, sections] of entries(data.merge_strategies)) {
    // An entry of the wrong shape is the schema's error already: no second message about it.
    if (!FileMergeStrategies.safeParse(sections).success) continue;
    const rule = ruleOfPath(files, key);
    const action = rule?.[1];
    if (MERGE_ACTIONS.has(action) || (rule !== undefined && typeof action !== "string")) continue;
    const close = didYouMean(key, merged);
    const hint = close === undefined ? "" : ` (did you mean ${JSON.stringify(close)}?)`;
    const why =
      rule !== undefined
        ? `it takes files.${JSON.stringify(rule[0])} (${String(action)}), not a merge`
        : new Minimatch(key).hasMagic()
          ? "it is a glob that is no files key (a file's sections are found by its path or by the files pattern it matched)"
          : "no files rule names it, so the file is replaced whole";
    problems.push(
      warning(["merge_strategies", key], `names no merged file: ${why}; these sections do nothing${hint}`),
    );
  }
  return problems;
}

/** The merge each config extension needs; a YAML merge also reads JSON, which is YAML. */
const MERGES_BY_EXTENSION: Record<string, readonly string[]> = {
  toml: ["merge_toml"],
  yaml: ["merge_yaml"],
  yml: ["merge_yaml"],
  json: ["merge_json", "merge_yaml"],
};

/**
 * A merge whose format is not the file's (`config.yaml: merge_json`) refused every run with "the
 * release's copy does not parse", which sends the operator to a file that is fine (or, YAML reading
 * a TOML file as one string, kept it whole and never updated it).
 */
function mergeFormatProblems(files: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const [pattern, rule] of entries(files)) {
    const action = isPlainObject(rule) ? rule.action : undefined;
    const extension = /\.([A-Za-z]+)$/.exec(pattern)?.[1]?.toLowerCase() ?? "";
    const fits = Object.hasOwn(MERGES_BY_EXTENSION, extension) ? MERGES_BY_EXTENSION[extension] : undefined;
    if (!MERGE_ACTIONS.has(action) || fits === undefined || fits.includes(action as string)) continue;
    const format = String(action).slice("merge_".length).toUpperCase();
    const message = `${String(action)} reads the file as ${format}, but a .${extension} file is not ${format}: use ${fits[0]}`;
    problems.push(warning(["files", pattern, "action"], message));
  }
  return problems;
}

/**
 * `merge_strategy` acts only on a merge: on `replace: {action: replace, merge_strategy:
 * preserve_user}` the seed's word suggests the operator's values are kept, while the file is
 * replaced whole (or, for skip, never touched), silently.
 */
function idleMergeStrategyProblems(files: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const [pattern, rule] of entries(files)) {
    if (!isPlainObject(rule) || rule.merge_strategy === undefined || MERGE_ACTIONS.has(rule.action)) continue;
    if (typeof rule.action !== "string") continue;
    const extension = /\.([A-Za-z]+)$/.exec(pattern)?.[1]?.toLowerCase() ?? "";
    const merge = Object.hasOwn(MERGES_BY_EXTENSION, extension)
      ? MERGES_BY_EXTENSION[extension]?.[0]
      : undefined;
    const fate =
      rule.action === "skip"
        ? "the file is never touched"
        : "the file is replaced whole, none of the server's values merged in";
    const hint = merge === undefined || rule.action === "skip" ? "" : ` (action: ${merge} merges it)`;
    problems.push(
      warning(
        ["files", pattern, "merge_strategy"],
        `${String(rule.merge_strategy)} has no effect with action ${rule.action}, only with merge_toml, merge_json or merge_yaml: ${fate}${hint}`,
      ),
    );
  }
  return problems;
}

/**
 * Options a rule or conditional takes and then ignores: `backup: true` on a `skip` rule (the file is
 * never touched, so there is no previous version to keep), `backup: false` on `backup_replace`
 * (which always keeps it), `manual_steps` on a conditional that is not
 * `require_manual_intervention` (only that action shows them), a conditional's `timeout` when its
 * condition runs no `command('…')` (nothing else it does is timed), and a post_update test's
 * `retry_delay` without `retry_count` (nothing is retried). Each was accepted without a word.
 */
function idleOptionProblems(data: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const [pattern, rule] of entries(data.files)) {
    if (!isPlainObject(rule)) continue;
    if (rule.action === "skip" && rule.backup === true) {
      const message =
        "has no effect with action skip: the file is never touched, so there is no previous version to keep as .bak";
      problems.push(warning(["files", pattern, "backup"], `backup: true ${message}`));
    }
    if (rule.action === "backup_replace" && rule.backup === false) {
      const message =
        "has no effect with action backup_replace, which always keeps the previous version as .bak (action: replace keeps none)";
      problems.push(warning(["files", pattern, "backup"], `backup: false ${message}`));
    }
  }
  items(data.conditionals).forEach((conditional, i) => {
    if (!isPlainObject(conditional) || items(conditional.manual_steps).length === 0) return;
    const action = conditional.action;
    if (action === "require_manual_intervention" || typeof action !== "string") return;
    const message = `are shown only with action require_manual_intervention; with ${action} they are never shown (write them in message)`;
    problems.push(warning(["conditionals", i, "manual_steps"], `manual_steps ${message}`));
  });
  items(data.conditionals).forEach((conditional, i) => {
    if (!isPlainObject(conditional) || typeof conditional.timeout !== "number") return;
    if (typeof conditional.condition !== "string" || conditionRunsCommand(conditional.condition)) return;
    const message =
      "timeout has no effect without a command('…') in the condition: it bounds only those checks";
    problems.push(warning(["conditionals", i, "timeout"], message));
  });
  items(data.post_update_tests).forEach((test, i) => {
    if (!isPlainObject(test) || typeof test.retry_delay !== "number" || test.retry_delay <= 0) return;
    if (typeof test.retry_count === "number" && test.retry_count > 0) return;
    const message = "retry_delay has no effect without retry_count: the test runs once, nothing is retried";
    problems.push(warning(["post_update_tests", i, "retry_delay"], message));
  });
  return problems;
}

/** A condition that does not parse is reported elsewhere (with its column): no second word here. */
function conditionRunsCommand(text: string): boolean {
  try {
    return runsCommand(parseCondition(text));
  } catch (error) {
    if (error instanceof ConditionSyntaxError) return true;
    throw error;
  }
}

/**
 * A merge rule whose every file lies in a protected directory merges nothing: the release's copy
 * fills that directory only where the app lacks it, and nothing is written there again. Runs warned
 * (check-merge-inputs.ts) with the release's files at hand; this tells it from the manifest alone,
 * so `--test-manifest` warns too.
 */
function protectedMergeProblems(data: Record<string, unknown>): Problem[] {
  if (!isPlainObject(data.directories)) return [];
  const problems: Problem[] = [];
  for (const [pattern, rule] of entries(data.files)) {
    const action = isPlainObject(rule) ? rule.action : undefined;
    if (!MERGE_ACTIONS.has(action)) continue;
    const dir = protectedDirectoryOfPattern(data.directories, pattern);
    if (dir === undefined) continue;
    const what = new Minimatch(pattern).hasMagic() ? `every file ${pattern} matches is` : `${pattern} is`;
    problems.push(
      warning(
        ["files", pattern],
        `${String(action)} merges no file: ${what} in the protected directory ${dir} (preserve: true), which ship fills only where the app lacks it and never writes again; keep merged configs out of it`,
      ),
    );
  }
  return problems;
}

/** Each notification message's `{word}` that is no placeholder (sent as written). */
function placeholderProblems(notifications: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const [event, list] of entries(notifications))
    items(list).forEach((notification, i) => {
      const text = isPlainObject(notification) ? notification.message : undefined;
      if (typeof text !== "string") return;
      for (const message of unknownPlaceholders(text))
        problems.push({
          path: ["notifications", event, i, "message"],
          message,
          severity: "warning",
          at: "value",
        });
    });
  return problems;
}

/**
 * What the schema cannot check: a version that does not look like one (a warning), globs that
 * cannot match, migration keys that are not versions (or repeat one), and conditions that do not
 * parse. Works on the raw data so these problems come together with schema errors, not after.
 */
export function manifestChecks(data: unknown): Problem[] {
  const problems: Problem[] = [];
  if (!isPlainObject(data)) return problems;
  // A version that is not one word is the schema's error already: no warning about it too.
  const version = data.version;
  if (typeof version === "string" && ONE_WORD_VERSION.test(version) && !isVersionLike(version)) {
    const message = `${JSON.stringify(version)} does not look like a version (e.g. "1.2.3"); it is ordered as text`;
    problems.push({ path: ["version"], message, severity: "warning", at: "value" });
  }
  for (const [pattern] of entries(data.files)) {
    const problem = globProblem(pattern);
    if (problem !== undefined) problems.push(error(["files", pattern], problem, "key"));
  }
  for (const [dir] of entries(data.directories)) {
    const problem = directoryProblem(dir);
    if (problem !== undefined) problems.push(error(["directories", dir], problem, "key"));
  }
  problems.push(...mergeFormatProblems(data.files));
  problems.push(...idleMergeStrategyProblems(data.files));
  problems.push(...idleOptionProblems(data));
  problems.push(...protectedMergeProblems(data));
  problems.push(...mergeStrategyFileProblems(data));
  problems.push(...pruneProblems(data.directories));
  problems.push(...cleanupProblems(data.cleanup));
  problems.push(...rolloutStartProblems(data));
  problems.push(...stageShareProblems(data.rollout));
  problems.push(...pythonVersionProblem(data.requirements));
  problems.push(...migrationProblems(data.migrations, data.version));
  problems.push(...placeholderProblems(data.notifications));
  if (isPlainObject(data.security))
    problems.push(...fileTypeProblems(data.security.allowed_file_types, ["security", "allowed_file_types"]));
  items(data.conditionals).forEach((conditional, i) => {
    const text = isPlainObject(conditional) ? conditional.condition : undefined;
    problems.push(...conditionProblem(["conditionals", i, "condition"], text));
  });
  const rollout = isPlainObject(data.rollout) ? data.rollout : {};
  items(rollout.stages).forEach((stage, i) => {
    const text = isPlainObject(stage) ? stage.criteria : undefined;
    problems.push(...conditionProblem(["rollout", "stages", i, "criteria"], text));
  });
  return problems;
}
