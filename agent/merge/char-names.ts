/**
 * A character a parser refused, named so an operator can find it: one that shows as nothing or as
 * a gap (a NUL byte, another control character, a no-break space, a zero-width space, a byte-order
 * mark) is named by its code, as an editor's "go to character" or `grep -P '\x{…}'` takes it.
 * A parser's own words ("Bad control character in string literal", "illegal character in key")
 * sent the operator looking at a line that reads as correct.
 */

import { HOLDS_UNSEEN } from "../../shared/schema/shows-nothing.js";
import { UNPRINTABLE } from "../../shared/schema/unprintable.js";

/** The character at `offset` of `text` (a whole code point), or undefined past its end. */
export function charAt(text: string, offset: number): string | undefined {
  const code = text.codePointAt(offset);
  return code === undefined ? undefined : String.fromCodePoint(code);
}

/** `U+0000`: the code of a character as Unicode writes it. */
export function codeOf(char: string): string {
  return (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
}

/** "a NUL byte (U+0000)", "the control character U+0007", "the invisible character U+00A0"; undefined for one that shows. */
export function unseenCharName(char: string): string | undefined {
  const code = codeOf(char);
  if (code === "0000") return "a NUL byte (U+0000)";
  if (/\p{Cc}/u.test(char)) return `the control character U+${code}`;
  // Format characters (a zero-width space, a byte-order mark) and spaces other than U+0020.
  if ((UNPRINTABLE.test(char) || HOLDS_UNSEEN.test(char)) && char !== " ")
    return `the invisible character U+${code}`;
  return undefined;
}
