/**
 * How many terminal columns text takes, as a terminal draws it: a table padded by `.length`
 * (UTF-16 units) put a CJK wave name or agent id (2 columns, 1 unit), an emoji (2 columns, 2 to 11
 * units) or a name with combining accents (1 column, 2 units) out of line with the rows around it.
 * The count is string-width's (Unicode's East Asian Width and emoji presentation per grapheme
 * cluster, terminal colour codes taking none): a well-kept table of Unicode beats our own copy.
 */
import stringWidth from "string-width";

export function displayWidth(text: string): number {
  // Plain ASCII, nearly every cell: one column per unit, without segmenting.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text);
}

/** `text` padded with spaces to `width` columns (as `padEnd` does for units). */
export function padToWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}
