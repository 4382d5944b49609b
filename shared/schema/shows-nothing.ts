import { UNPRINTABLE } from "./unprintable.js";

/**
 * Characters that show as nothing or as a gap where a name is printed (the CLI, the dashboard, the
 * event log): white space, the default-ignorable code points (zero-width characters, variation
 * selectors, the combining grapheme joiner U+034F, and the Hangul fillers U+115F, U+1160, U+3164 and
 * U+FFA0, which are letters by category, so neither `\s` nor UNPRINTABLE stopped them) and the blank
 * braille pattern U+2800. A wave named "\u3164" was taken and printed as nothing; "canary\u3164"
 * stood beside "canary" as another wave.
 */
const SHOWS_NOTHING = "[\\s\\p{Default_Ignorable_Code_Point}\\u2800]";
const BLANK = new RegExp(`^${SHOWS_NOTHING}*$`, "u");
/** Whether `name` shows as nothing at all (empty included). */
export const isBlankName = (name: string): boolean => BLANK.test(name);
/** Any character that shows as nothing, anywhere in a text. */
export const HOLDS_UNSEEN = new RegExp(SHOWS_NOTHING, "u");
const AT_START = new RegExp(`^${SHOWS_NOTHING}`, "u");
// A variation selector ends an emoji written in full ("❤\ufe0f"): part of the character before it.
const AT_END = new RegExp(`(?![\\ufe00-\\ufe0f\\u{e0100}-\\u{e01ef}])${SHOWS_NOTHING}$`, "u");

/**
 * Why a name that people read back shows as less than it holds (without naming where it came from),
 * or undefined when every character of it shows: blank, or beginning or ending with a character that
 * shows nothing.
 */
export function unseenNameProblem(name: string): string | undefined {
  if (isBlankName(name))
    return "must show something: it holds only white space or invisible characters (a no-break space, a zero-width space, a Hangul filler …), which the CLI, the dashboard and the event log print as nothing";
  if (AT_START.test(name) || AT_END.test(name))
    return "must not begin or end with white space or an invisible character (a no-break space, a zero-width space, a Hangul filler …): the CLI, the dashboard and the event log print it, where it cannot be seen";
  return undefined;
}

/**
 * What a name reads as: the same characters composed or decomposed ("é", "e" + U+0301), in a
 * compatibility form (a no-break space), with a run of spaces or fillers for one, or with invisible
 * characters inside ("can\u034fary") are the same name to a reader.
 */
export function nameAsRead(name: string): string {
  return name
    .normalize("NFKC")
    .replace(/[\s\u2800\u115f\u1160\u3164]+/gu, " ")
    .replace(/\p{Default_Ignorable_Code_Point}/gu, "");
}

export const PRINTED_PROBLEM =
  "must not hold a control character (a line break, tab, ESC …), a bidirectional override or an invisible format character (a zero-width space …): the CLI, the dashboard and the event log print it";

/**
 * Why a name people read back (a wave's, a token's) cannot be printed as it is, or undefined when it
 * can: one problem per name (a tab alone is unprintable and blank: said once).
 */
export function shownNameProblem(name: string): string | undefined {
  return UNPRINTABLE.test(name) ? PRINTED_PROBLEM : unseenNameProblem(name);
}
