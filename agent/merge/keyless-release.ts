/**
 * A release's copy of a merged config that holds no key at all — 0 bytes, white space, (TOML, YAML)
 * only comments, only empty tables (TOML headers over commented-out keys, YAML `server: {}`, JSON
 * `{"server": {}}`), an empty list `[]` or null — is no sign that the release dropped every key: a
 * build that wrote an empty file, a template left unrendered, an "every default" file. Merged, it turned the operator's config into `{}` (YAML) or an
 * empty file (TOML), every value the operator never changed deleted, while JSON refused it (exit 2);
 * a `{}` copy deleted them in JSON and YAML alike.
 * In all three formats the operator's copy is kept as it is, and a WARNING says why.
 */
import type { MergeFormat } from "./index.js";
import { isTable, keyName } from "./values.js";

/** Lines holding no value: blank or a comment (TOML, YAML), or a YAML document marker or directive. */
const NO_VALUE: Record<MergeFormat, RegExp> = {
  json: /^[ \t]*$/,
  toml: /^[ \t]*(#.*)?$/,
  yaml: /^(---|\.\.\.|%.*)?[ \t]*(#.*)?$/,
};

/** Whether a normalised copy (no BOM, LF line endings) holds no value at all. */
export function holdsNoValue(format: MergeFormat, text: string): boolean {
  return text.split("\n").every((line) => NO_VALUE[format].test(line));
}

/**
 * Whether a parsed copy holds no key of any value though its text holds something: an empty mapping
 * (YAML or JSON `{}`, `--- {}`, what a template left unrendered writes), null (YAML `~`, `null`, JSON
 * `null`), an empty list (`[]`), or tables holding nothing but shapes with no value — TOML headers
 * whose every key is commented out (`[server]` over `# port = 80`, `[[servers]]` over the same: a list
 * of one empty table), and their YAML and JSON likes (`server: {}`, `servers: [{}]`, and YAML's
 * `server:` over commented-out keys, which parses as null). Merged, each read as a release dropping
 * every key the operator never changed (`[]` as a list taking the place of the whole file), where the
 * same "every default" file without its headers was kept: the three formats and every shape now read
 * alike. A list of values inside a table is a value (a release may empty `plugins = []`), so only a
 * whole copy that is `[]` counts; a list counts inside only when each of its items is an empty table.
 */
export function holdsNoKey(value: unknown): boolean {
  return (Array.isArray(value) && value.length === 0) || holdsNothing(value);
}

/**
 * Null, a table whose every value holds nothing (none at all counts), or a non-empty list of such
 * tables (TOML's `[[servers]]` over commented-out keys).
 */
function holdsNothing(value: unknown): boolean {
  // A stack, not recursion: a copy nested deep is read before the nesting limit is checked.
  const stack = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === null || next === undefined) continue;
    if (isTable(next)) stack.push(...Object.values(next));
    else if (Array.isArray(next) && next.length > 0 && next.every(isTable)) stack.push(...next);
    else return false;
  }
  return true;
}

/** Whether a copy holding no key has a null in it (YAML's `server:` over commented-out keys). */
function holdsNull(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === null) return true;
    if (isTable(next)) stack.push(...Object.values(next));
    else if (Array.isArray(next)) stack.push(...next);
  }
  return false;
}

export const KEYLESS_RELEASE = "the release's copy holds no keys";

/** The warning, by what the release's copy (in `format`) holds. */
export function keylessReleaseWarning(format: MergeFormat, text: string, value: unknown): string {
  const what =
    text.length === 0
      ? "0 bytes"
      : text.trim() === ""
        ? "only white space"
        : holdsNoValue(format, text)
          ? "only comments"
          : Array.isArray(value) && value.length === 0
            ? "an empty list"
            : value === null || value === undefined || (isTable(value) && Object.keys(value).length === 0)
              ? "an empty mapping or null"
              : holdsNull(value)
                ? "only keys with no value"
                : `only empty ${format === "toml" ? "tables" : "mappings"}`;
  return `${KEYLESS_RELEASE} (${what}): your copy was left as it is, not merged as every key removed; check the release's copy (most likely a packaging mistake)`;
}

/** Each top-level key of the operator's copy: its value won over the release dropping it. */
export function keptKeys(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== "object" || Array.isArray(value)) return [keyName([])];
  return Object.keys(value).map((key) => keyName([key]));
}
