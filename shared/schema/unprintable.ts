/**
 * Characters that drive a terminal or reorder text instead of showing: C0/C1 controls (ESC, CR,
 * line breaks, BEL), the Unicode line and paragraph separators, and format characters (Unicode
 * category Cf: the bidirectional overrides and marks, zero-width spaces, U+061C), which also make
 * two names that look alike differ (review23: `canary` and `can\u200bary`). The zero-width joiner is
 * allowed: emoji sequences need it.
 * Names people read back (a wave's) are refused holding one; text the hub returns that others wrote
 * is escaped before a terminal sees it (`printable` in the hub CLI).
 */
export const UNPRINTABLE = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/u;

const NAMED_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Control characters (ESC, CR, line breaks, BEL, C1) and bidirectional overrides written as `\u001b`,
 * `\r`, `\n`...: text printed raw could drive the reader's terminal, and a line break in a name the
 * operator gave (`--app-dir $'x\ny'`) split a one-line refusal over two lines, which a log or a
 * script reading stderr's first line took for two messages.
 */
export function printable(text: string): string {
  return text.replace(
    new RegExp(UNPRINTABLE.source, "gu"),
    (c) => NAMED_ESCAPES[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}
