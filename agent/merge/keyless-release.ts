/**
 * A release's copy of a merged config that holds no key at all — 0 bytes, white space, (TOML, YAML)
 * only comments, or (JSON, YAML) an empty mapping `{}` or null — is no sign that the release dropped every key: a build that wrote an empty
 * file, a template left unrendered. Merged, it turned the operator's config into `{}` (YAML) or an
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
 * Whether a parsed copy holds no key though its text holds a value: an empty mapping (YAML or JSON
 * `{}`, `--- {}`, what a template left unrendered writes) or null (YAML `~`, `null`, JSON `null`).
 * Merged, `{}` read as a release dropping every key. TOML has no such spelling: its root is always a
 * table, empty only when no key or table header is written, which holdsNoValue already reads.
 */
export function holdsNoKey(value: unknown): boolean {
  return value === null || value === undefined || (isTable(value) && Object.keys(value).length === 0);
}

export const KEYLESS_RELEASE = "the release's copy holds no keys";

/** The warning, by what the release's copy (in `format`) holds. */
export function keylessReleaseWarning(format: MergeFormat, text: string): string {
  const what =
    text.length === 0
      ? "0 bytes"
      : text.trim() === ""
        ? "only white space"
        : holdsNoValue(format, text)
          ? "only comments"
          : "an empty mapping or null";
  return `${KEYLESS_RELEASE} (${what}): your copy was left as it is, not merged as every key removed; check the release's copy (most likely a packaging mistake)`;
}

/** Each top-level key of the operator's copy: its value won over the release dropping it. */
export function keptKeys(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== "object" || Array.isArray(value)) return [keyName([])];
  return Object.keys(value).map((key) => keyName([key]));
}
