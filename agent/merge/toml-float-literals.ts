/**
 * Where a TOML text writes a float with more than a double holds (exact-floats.ts), wherever it
 * sits: a `key = value` line, an array, an inline table, a `[[array]]` element. The scanner of
 * toml-scan.ts sees `key = value` lines only, so a float inside an array or inline table used to
 * compare as its double: a release's `[0.1]` → `[0.10000000000000001]` was no change.
 *
 * Each such literal is swapped for a marker string and the text parsed again by the parser of
 * record: the marker's path in the values is the literal's, however the TOML reaches it.
 */
import { parse } from "smol-toml";
import { exactFloat } from "./exact-floats.js";
import { pathKey } from "./json-values.js";
import { isTable } from "./values.js";

const FLOAT = /^[+-]?[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?$/;
/** A string no config holds: NUL is only an escape in TOML, and this is written with the escape. */
const MARKER = "\u0000ship-exact-float:";

/** Each literal by pathKey of its value, for the floats a double does not hold. */
export function tomlFloatLiterals(text: string): Map<string, string> {
  const found = new Map<string, string>();
  const literals: string[] = [];
  const marked = markedText(text, literals);
  // Most files write no such float: no second parse.
  if (literals.length === 0) return found;
  let values: unknown;
  try {
    values = parse(marked);
  } catch {
    // The merge reads the text with the parser of record; where the markers confuse it, doubles.
    return found;
  }
  const walk = (value: unknown, path: (string | number)[]) => {
    if (typeof value === "string" && value.startsWith(MARKER)) {
      const literal = literals[Number(value.slice(MARKER.length))];
      if (literal !== undefined) found.set(pathKey(path), literal);
    } else if (Array.isArray(value)) for (const [i, item] of value.entries()) walk(item, [...path, i]);
    else if (isTable(value)) for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
  };
  walk(values, []);
  return found;
}

/**
 * The text with each float value a double does not hold written as a marker string (its index in
 * `literals`). Strings, comments, keys and `[table]` headers are passed over.
 */
function markedText(text: string, literals: string[]): string {
  const cuts: { start: number; end: number }[] = [];
  let i = 0;
  let depth = 0;
  let lineStart = true;
  while (i < text.length) {
    const char = text[i] as string;
    if (char === "\n") {
      lineStart = true;
      i++;
      continue;
    }
    if (char === " " || char === "\t" || char === "\r") {
      i++;
      continue;
    }
    const wasLineStart = lineStart;
    lineStart = false;
    if (char === "#") i = lineEnd(text, i);
    else if (char === '"' || char === "'") i = stringEnd(text, i);
    // A `[table]` or `[[array]]` header: keys, no values.
    else if (char === "[" && depth === 0 && wasLineStart) i = headerEnd(text, i);
    else if (char === "[" || char === "{") {
      depth++;
      i++;
    } else if (char === "]" || char === "}") {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (TOKEN_CHAR.test(char)) {
      let end = i + 1;
      while (end < text.length && TOKEN_CHAR.test(text[end] as string)) end++;
      const token = text.slice(i, end);
      const isKey = /^[ \t]*[=.]/.test(text.slice(end, end + 64));
      // Integers are BigInts to the merge already; only a float loses digits.
      const float = !isKey && FLOAT.test(token) && /[.eE]/.test(token);
      if (float && !fitsDouble(token) && exactFloat(token, Number(token.replaceAll("_", ""))) !== undefined) {
        cuts.push({ start: i, end });
        literals.push(token);
      }
      i = end;
    } else i++;
  }
  let out = "";
  let from = 0;
  for (const [index, cut] of cuts.entries()) {
    out += `${text.slice(from, cut.start)}${JSON.stringify(`${MARKER}${index}`)}`;
    from = cut.end;
  }
  return out + text.slice(from);
}

const TOKEN_CHAR = /[0-9A-Za-z_+\-.:]/;

function lineEnd(text: string, from: number): number {
  const end = text.indexOf("\n", from);
  return end < 0 ? text.length : end;
}

/** Just past the string opened at `from`: one-line or multi-line, basic or literal. */
function stringEnd(text: string, from: number): number {
  const quote = text[from] as string;
  const triple = quote.repeat(3);
  if (text.startsWith(triple, from)) {
    for (let i = from + 3; i < text.length; i++) {
      if (quote === '"' && text[i] === "\\") i++;
      else if (text.startsWith(triple, i)) {
        let end = i + 3;
        // Up to two quotes of the content may sit right before the closing three.
        while (end < i + 5 && text[end] === quote) end++;
        return end;
      }
    }
    return text.length;
  }
  for (let i = from + 1; i < text.length && text[i] !== "\n"; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i + 1;
  }
  return lineEnd(text, from);
}

/** Just past a header's closing bracket(s), quoted keys in it passed over. */
function headerEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length && text[i] !== "\n"; i++) {
    const char = text[i];
    if (char === '"' || char === "'") i = stringEnd(text, i) - 1;
    else if (char === "]") return text[i + 1] === "]" ? i + 2 : i + 1;
  }
  return lineEnd(text, from);
}

/**
 * A float of at most 15 significant digits well within a double's normal range, which a double always
 * holds (its shortest spelling is the same decimal): most floats, not worth exactFloat's BigInts.
 */
function fitsDouble(token: string): boolean {
  const [mantissa = "", exponent = "0"] = token.replaceAll("_", "").split(/[eE]/);
  const digits = mantissa
    .replace(/[^0-9]/g, "")
    .replace(/^0+/, "")
    .replace(/0+$/, "");
  // A long mantissa (`0.000…1`) moves the exponent: such a one goes to exactFloat.
  return mantissa.length <= 24 && digits.length <= 15 && Math.abs(Number(exponent)) < 250;
}
