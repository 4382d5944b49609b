/**
 * Walks a line of TOML (or an inline value) outside its one-line strings: `'literal'` and
 * `"basic"` with backslash escapes. For the small scanners that split arrays and inline tables by
 * their commas, brackets and comments without parsing them.
 */

/**
 * Calls `visit` with each character outside strings until it returns true: that index, -1 at the
 * end, or undefined when a string is left open.
 */
export function scanOutsideStrings(
  text: string,
  visit: (char: string, at: number) => boolean,
): number | undefined {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quote !== undefined) {
      if (char === "\\" && quote === '"') i++;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (visit(char, i)) return i;
  }
  return quote === undefined ? -1 : undefined;
}
