/**
 * A character that does not show, written out as the hub CLI prints it (shared/schema/unprintable.ts
 * `printable`, out of this bundle's reach): `\n`, `\r`, `\t`, else `\u202e`. No DOM here: the unit
 * tests read format.ts, which uses it, outside a browser.
 */
const NAMED_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function writtenOut(c: string): string {
  return NAMED_ESCAPES[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
}
