/**
 * Characters that drive a terminal or reorder text instead of showing: C0/C1 controls (ESC, CR,
 * line breaks, BEL), the Unicode line and paragraph separators and the bidirectional overrides.
 * Names people read back (a wave's) are refused holding one; text the hub returns that others wrote
 * is escaped before a terminal sees it (`printable` in the hub CLI).
 */
export const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
