/**
 * Text the hub says back to an operator, in one place for the engine, the API and the CLI: the
 * rollout engine's refusals quote label pairs as the CLI does, and neither should depend on the
 * other's formatter.
 */
import { UNPRINTABLE } from "../shared/schema/unprintable.js";

/**
 * Control characters (ESC, CR, line breaks, BEL, C1) and bidirectional overrides written as `\u001b`,
 * `\r`, `\n`...: what the hub returns is partly written by agents (host names, app states and
 * versions, report errors) or anyone with a token, and printed raw it could drive the operator's
 * terminal — move the cursor, rewrite a line so a failed host reads "updated", set the title.
 */
export function printable(text: string): string {
  return text.replace(
    new RegExp(UNPRINTABLE.source, "gu"),
    (c) => NAMED_ESCAPES[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

const NAMED_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

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
