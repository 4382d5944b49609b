/**
 * Text the hub says back to an operator, in one place for the engine, the API and the CLI: the
 * rollout engine's refusals quote label pairs as the CLI does, and neither should depend on the
 * other's formatter.
 */
import { printable } from "../shared/schema/unprintable.js";

/**
 * What the operator typed, in double quotes, for a message that quotes it back (`--selector
 * "env=a\"b"`): a `"` or `\` in it is escaped as a shell reads it back between double quotes (and
 * as JSON does), so the quoted text ends where its closing quote is; control characters are
 * escaped as `printable` says them. `--selector 'env=a"b'` was said as `--selector "env=a"b"`.
 * What it writes is a JSON string: a list of label pairs reads such a pair back (label-pairs.ts).
 */
export function quotedText(text: string): string {
  return `"${printable(text.replace(/["\\]/g, "\\$&"))}"`;
}
