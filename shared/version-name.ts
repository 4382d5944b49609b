/**
 * Where the version starts in a string that may carry a name before it: a git tag (`release-1.10.0`,
 * `app/2.0.0`, `myapp-v1.2.3`, `r42`) or a version written that way. The version starts at the
 * first digit that begins a word — at the start, or after a character that is neither a letter nor
 * a digit (`-`, `_`, `/`, `.`, `@`), or after a `v`/`V` that itself begins a word — so `app2-1.0.0`
 * is version 1.0.0 of `app2-`, not 2-1.0.0 of `app`. Without such a digit it starts at the first
 * digit (`r42` is 42 of `r`); a string without a digit names no version.
 */
export interface NamedVersion {
  /** Everything before the version, a `v` before its digits included (`release-`, `app/`, `app-v`). */
  name: string;
  /** From the version's first digit to the end; empty when the string has no digit. */
  version: string;
}

const WORD_START_DIGIT = /(?<![0-9A-Za-z])[vV]?\d/;

export function splitVersionName(s: string): NamedVersion {
  const word = WORD_START_DIGIT.exec(s);
  const start = word === null ? s.search(/\d/) : word.index + word[0].length - 1;
  return start < 0 ? { name: s, version: "" } : { name: s.slice(0, start), version: s.slice(start) };
}
