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
