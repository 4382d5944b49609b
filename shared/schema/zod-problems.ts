import type * as z from "zod";
import { didYouMean } from "./did-you-mean.js";
import { type KeyPath, toKeyPath } from "./key-path.js";
import { knownKeysAt } from "./known-keys.js";
import { describeValue, type Problem, shownString, valueAt } from "./problem.js";

type ZodIssue = z.core.$ZodIssue;

/**
 * zod's own English messages are replaced by ours; a schema's explicit message (e.g. "must be an
 * absolute path") outranks a per-parse error map, so this marker tells the two apart.
 */
const DEFAULT_MESSAGE = "\u0000default";

const MAX_HINTS = 200;
/** Problems worded one by one; past this, a count (see requestProblems). */
const MAX_PROBLEMS = 100;

export interface DescribeOptions {
  /** What an enum's values are called in "unknown X" messages, when the key name does not say. */
  enumNoun?: (values: readonly unknown[]) => string | undefined;
  /**
   * Whether a string at `path` is one a message must not quote: a manifest's command line may carry
   * a token, and these messages reach the log, the state file, the hub's reports and CI's log.
   */
  unquoted?: (path: KeyPath) => boolean;
  /**
   * Why an unknown key at `path` that the mapping one level up knows sits where it does, in the
   * document's own syntax (ship.toml: below a sub-table's header).
   */
  misplaced?: (path: KeyPath, key: string) => string;
}

interface FlatIssue {
  path: KeyPath;
  issue: ZodIssue;
}

/**
 * A branch that failed on the value's type alone. An enum (its values are always scalars) refusing
 * a mapping or a list is a type mismatch too, not an "unknown value".
 */
function wrongType(branch: readonly ZodIssue[], value: unknown): boolean {
  return branch.every(
    (i) =>
      i.path.length === 0 &&
      (i.code === "invalid_type" ||
        (i.code === "invalid_value" && typeof value === "object" && value !== null)),
  );
}

/**
 * A branch whose mapping has none of the keys the value has: every issue is a required key the
 * value lacks or a key of the value the branch does not know, all at the union's own level. Such a
 * branch says nothing about the value; a branch that looked inside it does.
 */
function wrongShape(branch: readonly ZodIssue[], value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return branch.every(
    (i) =>
      (i.code === "unrecognized_keys" && i.path.length === 0) ||
      (i.code === "invalid_type" && i.path.length === 1 && !Object.hasOwn(value, String(i.path[0]))),
  );
}

/** A union whose every branch failed: follow the branch whose type matched (its errors are real). */
function flatten(issues: readonly ZodIssue[], base: KeyPath, data: unknown): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...toKeyPath(issue.path)];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const value = valueAt(data, path);
      const typed = issue.errors
        .filter((branch) => !wrongType(branch, value))
        .sort((a, b) => Number(wrongShape(a, value)) - Number(wrongShape(b, value)) || a.length - b.length);
      const best = typed[0];
      if (best !== undefined) {
        // Not push(...): a branch of hundreds of thousands of issues overflows the stack as arguments.
        for (const flat of flatten(best, path, data)) out.push(flat);
        continue;
      }
    }
    out.push({ path, issue });
  }
  return out;
}

const typeWords: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function nounFor(path: KeyPath, values: readonly unknown[], options: DescribeOptions): string {
  const named = options.enumNoun?.(values);
  if (named !== undefined) return named;
  const last = path[path.length - 1];
  if (typeof last === "string") return last;
  const parent = [...path].reverse().find((s) => typeof s === "string");
  return parent === undefined ? "value" : `${parent} value`;
}

/** `input` as a message names it: a string the options keep unquoted by its kind alone. */
function given(input: unknown, path: KeyPath, options: DescribeOptions): string {
  if (typeof input === "string" && options.unquoted?.(path) === true)
    return "a string, not quoted: it may carry a secret";
  return describeValue(input);
}

/** An unknown enum value as quoted: the string itself unless the options keep it unquoted. */
function shownInput(input: unknown, path: KeyPath, options: DescribeOptions): string {
  if (typeof input !== "string") return describeValue(input);
  return options.unquoted?.(path) === true ? given(input, path, options) : shownString(input);
}

function unknownValue(noun: string, input: unknown, values: readonly unknown[], quoted: string): string {
  const expected = values.map(String).join(", ");
  if (input === undefined) return `is required (one of ${expected})`;
  // A list or mapping is no misspelt value: "unknown state a list" read as nonsense (a query key
  // given twice, `?state=running&state=paused`, arrives as a list).
  if (typeof input === "object" && input !== null)
    return `must be one of ${expected} (got ${describeValue(input)})`;
  return `unknown ${noun} ${quoted} (expected ${expected})`;
}

function bound(issue: { origin: string; inclusive?: boolean }, limit: unknown, input: unknown, low: boolean) {
  if (issue.origin === "string") return `must be ${low ? "at least" : "at most"} ${limit} characters long`;
  if (issue.origin === "array") return `must have ${low ? "at least" : "at most"} ${limit} items`;
  // ≤ and ≥, as every bound the schemas word themselves (`body.fromWave: must be ≥ 0`).
  const op = low ? (issue.inclusive === false ? ">" : "≥") : issue.inclusive === false ? "<" : "≤";
  return `must be ${op} ${String(limit)} (got ${String(input)})`;
}

function describe(flat: FlatIssue, data: unknown, options: DescribeOptions): string {
  const { issue, path } = flat;
  if (issue.message !== DEFAULT_MESSAGE) return issue.message;
  const input = valueAt(data, path);
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return "is required";
      // YAML's .inf/.nan, 1e400 and TOML's inf/nan parse as numbers: "must be a number (got number
      // Infinity)" read as a contradiction.
      if (typeof input === "number" && !Number.isFinite(input))
        return `must be a finite number (got ${String(input)})`;
      return `must be ${typeWords[issue.expected] ?? issue.expected} (got ${given(input, path, options)})`;
    case "invalid_value":
      if (issue.values.length === 1) return `must be ${JSON.stringify(issue.values[0])}`;
      return unknownValue(
        nounFor(path, issue.values, options),
        input,
        issue.values,
        shownInput(input, path, options),
      );
    case "invalid_union": {
      // zod adds these two fields for a discriminated union but does not declare them.
      const { note, options: discriminated } = issue as { note?: string; options?: unknown[] };
      if (note === "No matching discriminator" && discriminated !== undefined) {
        return unknownValue(
          nounFor(path, discriminated, options),
          input,
          discriminated,
          shownInput(input, path, options),
        );
      }
      const expected = issue.errors.flatMap((branch) =>
        branch.flatMap((i) => (i.code === "invalid_type" ? [typeWords[i.expected] ?? i.expected] : [])),
      );
      return `must be ${[...new Set(expected)].join(" or ")} (got ${given(input, path, options)})`;
    }
    case "too_small":
      return bound(issue, issue.minimum, input, true);
    case "too_big":
      return bound(issue, issue.maximum, input, false);
    case "invalid_format":
      // Every URL ship takes is http(s): shared/schema/http-url.ts.
      if (issue.format === "url") return urlProblem(input);
      if (issue.format === "regex") return `must match ${issue.pattern ?? "the expected pattern"}`;
      return `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    case "invalid_key": {
      const inner = issue.issues.find((i) => i.message !== DEFAULT_MESSAGE);
      return `invalid key: ${inner?.message ?? "not allowed here"}`;
    }
    default:
      return "is invalid";
  }
}

function deleteKey(data: unknown, path: KeyPath, key: string): void {
  const owner = valueAt(data, path);
  if (typeof owner === "object" && owner !== null) delete (owner as Record<string, unknown>)[key];
}

/**
 * Validates plain parsed data against a strict schema and reports every problem at once.
 * Unknown keys become warnings with a "did you mean" hint and are dropped (mutating `data`), then
 * the data is validated again, so one typo does not hide the rest of the document.
 */
export function validateAgainst<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: DescribeOptions = {},
): { value: z.output<S> | undefined; problems: Problem[] } {
  const problems: Problem[] = [];
  for (let round = 0; ; round++) {
    const result = schema.safeParse(data, { error: () => DEFAULT_MESSAGE });
    if (result.success) return { value: result.data, problems };
    const flat = flatten(result.error.issues, [], data);
    const unknown = flat.filter((f) => f.issue.code === "unrecognized_keys");
    if (unknown.length === 0 || round >= 4) {
      // As requestProblems: the first ones worded, the rest counted. A 60 KB manifest of 30,000
      // wrong list items held the hub 3-6 s wording and placing each, and answered 2.6 MB.
      let worded = 0;
      let unlisted = 0;
      for (const f of flat) {
        if (f.issue.code === "unrecognized_keys") continue;
        if (worded >= MAX_PROBLEMS) {
          unlisted += 1;
          continue;
        }
        worded += 1;
        const at = f.issue.code === "invalid_key" ? "key" : "value";
        problems.push({ path: f.path, message: describe(f, data, options), severity: "error", at });
      }
      if (unlisted > 0) problems.push(notListed(unlisted));
      return { value: undefined, problems };
    }
    for (const { path, issue } of unknown) {
      if (issue.code !== "unrecognized_keys") continue;
      const known = knownKeysAt(schema, path, data);
      const above =
        options.misplaced !== undefined && path.length > 0
          ? knownKeysAt(schema, path.slice(0, -1), data)
          : [];
      for (const key of issue.keys) {
        // Hints are for typos; past a few hundred unknown keys the document is not a typo away.
        const hint = problems.length < MAX_HINTS ? didYouMean(key, known) : undefined;
        const why =
          options.misplaced !== undefined && above.includes(key)
            ? ` (${options.misplaced(path, key)})`
            : hint === undefined
              ? ""
              : ` (did you mean ${JSON.stringify(hint)}?)`;
        const message = `unknown key ${JSON.stringify(key)}${why}; ignored`;
        problems.push({ path: [...path, key], message, severity: "warning", at: "key" });
        deleteKey(data, path, key);
      }
    }
  }
}

/**
 * A union with its own message ("must be {count: N} or {percent: P}") keeps it when no option's
 * shape fits (no key, both, a misspelt one); a value wrong inside the one option whose keys fit
 * gets that field's own message ("count: must be a whole number").
 */
function shapeOrValue(issue: ZodIssue, data: unknown): ZodIssue[] {
  if (issue.code !== "invalid_union" || issue.message === DEFAULT_MESSAGE) return [issue];
  const at = toKeyPath(issue.path);
  const fits = issue.errors.find((branch) =>
    branch.every(
      (i) =>
        i.path.length > 0 &&
        i.code !== "unrecognized_keys" &&
        !(i.code === "invalid_type" && valueAt(data, [...at, ...toKeyPath(i.path)]) === undefined),
    ),
  );
  return fits === undefined
    ? [{ ...issue, errors: [] }]
    : fits.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
}

/**
 * Every problem of a request body or query, worded as `validateAgainst` words a document's, with
 * unknown keys as errors naming the keys allowed there: a request is refused, never repaired.
 */
export function requestProblems<S extends z.ZodType>(
  schema: S,
  data: unknown,
): { value: z.output<S>; problems?: undefined } | { value?: undefined; problems: Problem[] } {
  const result = schema.safeParse(data, { error: () => DEFAULT_MESSAGE });
  if (result.success) return { value: result.data };
  const problems: Problem[] = [];
  const flat = flatten(
    result.error.issues.flatMap((i) => shapeOrValue(i, data)),
    [],
    data,
  );
  // zod's `.int()` adds the safe-integer range: next to a schema's own bound it only adds noise.
  // Issues per path, counted once (not compared pairwise: quadratic in a value's wrong elements).
  const atPath = new Map<string, number>();
  for (const f of flat) atPath.set(f.path.join("\0"), (atPath.get(f.path.join("\0")) ?? 0) + 1);
  const ownBound = (f: FlatIssue) =>
    !(
      (f.issue.code === "too_big" && f.issue.maximum === Number.MAX_SAFE_INTEGER) ||
      (f.issue.code === "too_small" && f.issue.minimum === Number.MIN_SAFE_INTEGER)
    ) || (atPath.get(f.path.join("\0")) ?? 0) <= 1;
  // Each problem is worded by walking the value to it: a value with hundreds of thousands of wrong
  // elements took seconds. The first ones say what is wrong; the rest are counted. One
  // unrecognized_keys issue holds every unknown key of its mapping, so problems are counted, not
  // issues: a selector of 9,000 unknown keys was a 458 KB answer naming each.
  const shown = flat.filter(ownBound);
  let unlisted = 0;
  for (const f of shown) {
    if (f.issue.code !== "unrecognized_keys") {
      if (problems.length >= MAX_PROBLEMS) {
        unlisted += 1;
        continue;
      }
      const at = f.issue.code === "invalid_key" ? "key" : "value";
      problems.push({ path: f.path, message: describe(f, data, {}), severity: "error", at });
      continue;
    }
    const room = Math.max(0, MAX_PROBLEMS - problems.length);
    unlisted += Math.max(0, f.issue.keys.length - room);
    if (room === 0) continue;
    const known = knownKeysAt(schema, f.path, data);
    for (const key of f.issue.keys.slice(0, room)) {
      const hint = didYouMean(key, known);
      const allowed = known.length === 0 ? "no keys are allowed here" : `allowed: ${known.join(", ")}`;
      const message = `unknown key${hint === undefined ? "" : ` (did you mean ${JSON.stringify(hint)}?)`}; ${allowed}`;
      problems.push({ path: [...f.path, key], message, severity: "error", at: "key" });
    }
  }
  if (unlisted > 0) problems.push(notListed(unlisted));
  return { problems };
}

/** The count of problems past MAX_PROBLEMS, said as one more problem of no field. */
function notListed(unlisted: number): Problem {
  return { path: [], message: `and ${unlisted} more problems not listed`, severity: "error", at: "value" };
}

/**
 * Why a value is not an http(s) URL. One that starts with http:// was told "must be an http:// or
 * https:// URL" all the same, for a port typo (`http://hub:80800`) or a space inside it, and
 * operators looked for what was wrong with the scheme.
 */
function urlProblem(input: unknown): string {
  const text = typeof input === "string" ? input.trim() : "";
  const given = typeof input === "string" ? `string ${shownString(urlUpToHost(text))}` : describeValue(input);
  if (!/^https?:\/\//i.test(text)) return `must be an http:// or https:// URL (got ${given})`;
  const port = /^https?:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65535) return `has port ${port}, over 65535 (got ${given})`;
  return `is not a valid URL: check the host name and port (got ${given})`;
}

/**
 * A URL as an error may show it: up to its host and port, `user:password@` as `***@`, the rest as
 * `/…`. A Slack webhook's path is its secret, a URL may carry `?token=`, and these errors go into
 * CI's log (`ship release publish`, the hub's 400), the state file and the hub's reports.
 */
export function urlUpToHost(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? "";
  const rest = text.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf("@");
  const host = at < 0 ? authority : `***@${authority.slice(at + 1)}`;
  return `${scheme}${host}${end < 0 ? "" : "/…"}`;
}
