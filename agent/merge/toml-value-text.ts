/** TOML spellings of single values, for lines the merge writes itself. */
import { parse, stringify, TomlDate } from "smol-toml";
import { ExactFloat } from "./exact-floats.js";
import { withLiterals } from "./float-literals.js";
import { tomlFloatLiterals } from "./toml-float-literals.js";
import { isTable, setOwn, type Table } from "./values.js";

/**
 * TOML values as the merge reads them: integers as BigInt, so an integer and a float are told apart
 * (`1` and `1.0` are two types in TOML, and an app that reads a float may refuse an integer), and
 * written back the same way: a JS number is a float (`1.0`), a BigInt an integer. Datetimes keep
 * their digits past the millisecond (finerDates), and floats a double does not hold their decimals
 * (ExactFloat, written back as their literal).
 */
export function readTomlValues(text: string): unknown {
  const values = parse(lfInMultiLineStrings(text), { integersAsBigInt: true });
  const fine = FINE_TIME.test(text) ? finerDates(values, fineFractions(text)) : values;
  // A float with more digits than a double holds, wherever it sits, is an ExactFloat (exact-floats.ts).
  return withLiterals(fine, tomlFloatLiterals(text));
}

/**
 * A line break inside a `"""` or `'''` string is one newline, CRLF or LF (TOML lets a reader take
 * either as its own). A file mixing the two (lines appended by `echo >>` to a Windows-saved file) is
 * merged as it is, so its multi-line strings read as holding `\r\n`, unequal to the release's same
 * text: an untouched value was reported kept, and the release's change to it lost. Escapes (`\r`)
 * are not line breaks and stay.
 */
function lfInMultiLineStrings(text: string): string {
  if (!text.includes("\r\n") || !/"""|'''/.test(text)) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    const triple = text.startsWith('"""', i) ? '"""' : text.startsWith("'''", i) ? "'''" : undefined;
    if (triple !== undefined) {
      const end = multiLineEnd(text, i + 3, triple);
      if (end === undefined) return text;
      out += text.slice(i, end).replaceAll("\r\n", "\n");
      i = end;
    } else if (char === '"' || char === "'") {
      const end = lineStringEnd(text, i + 1, char);
      if (end === undefined) return text;
      out += text.slice(i, end);
      i = end;
    } else if (char === "#") {
      const end = text.indexOf("\n", i);
      out += end < 0 ? text.slice(i) : text.slice(i, end);
      i = end < 0 ? text.length : end;
    } else {
      out += char;
      i += 1;
    }
  }
  return out;
}

/** Just past the closing delimiter of a multi-line string opened before `from` (up to two quotes may precede it). */
function multiLineEnd(text: string, from: number, triple: string): number | undefined {
  for (let i = from; i < text.length; i++) {
    if (triple === '"""' && text[i] === "\\") i += 1;
    else if (text.startsWith(triple, i)) {
      let end = i + 3;
      while (end < i + 5 && text[end] === triple[0]) end += 1;
      return end;
    }
  }
  return undefined;
}

/** Just past the closing quote of a one-line string opened before `from`. */
function lineStringEnd(text: string, from: number, quote: string): number | undefined {
  for (let i = from; i < text.length && text[i] !== "\n"; i++) {
    if (quote === '"' && text[i] === "\\") i += 1;
    else if (text[i] === quote) return i + 1;
  }
  return undefined;
}

/** A time with more fractional digits than a JS Date holds (milliseconds). */
const FINE_TIME = /\d{2}:\d{2}:\d{2}\.\d{4}/;
const TIME_LITERAL = /(?:\d{4}-\d{2}-\d{2}[Tt ])?\d{2}:\d{2}:\d{2}(?:\.(\d+))?(?:[Zz]|[+-]\d{2}:\d{2})?/g;

/**
 * smol-toml's dates hold milliseconds only: `.123456` read as `.123`, so a release changing those
 * digits was no change, and a value the merge wrote itself (an inline table written anew, a file
 * rewritten from values) lost them, the user's own included. Each time literal of the text, by its
 * millisecond ISO text → its digits, undefined where two literals share one ISO text with other
 * digits (one may be in a string or a comment: neither is taken then).
 */
function fineFractions(text: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const match of text.matchAll(TIME_LITERAL)) {
    const digits = (match[1] ?? "").replace(/0+$/, "").padEnd(3, "0");
    let iso: string;
    try {
      const value = (parse(`x = ${match[0]}`) as { x: unknown }).x;
      if (!(value instanceof TomlDate)) continue;
      iso = value.toISOString();
    } catch {
      continue; // in a string or a comment, not a datetime TOML reads
    }
    found.set(iso, found.has(iso) && found.get(iso) !== digits ? undefined : digits);
  }
  return found;
}

/** Gives each date of `value` the digits its literal has, so it compares and is written with them. */
function finerDates(value: unknown, fractions: ReadonlyMap<string, string | undefined>): unknown {
  if (value instanceof TomlDate) {
    const iso = value.toISOString();
    const digits = fractions.get(iso);
    if (digits !== undefined && digits.length > 3) {
      const fine = iso.replace(/\.\d{3}/, `.${digits}`);
      Object.defineProperty(value, "toISOString", { value: () => fine });
    }
  } else if (Array.isArray(value)) {
    for (const item of value) finerDates(item, fractions);
  } else if (isTable(value)) {
    for (const item of Object.values(value)) finerDates(item, fractions);
  }
  return value;
}

export function writeTomlValues(value: unknown): string {
  const literals: string[] = [];
  const text = stringify(markedFloats(value, literals), { numbersAsFloat: true });
  if (literals.length === 0) return text;
  return text.replace(/"\\u0000ship-float:(\d+)"/g, (marker, at: string) => literals[Number(at)] ?? marker);
}

/** `value` with each ExactFloat a marker string, which writeTomlValues replaces with its literal. */
function markedFloats(value: unknown, literals: string[]): unknown {
  if (value instanceof ExactFloat) {
    literals.push(value.literal);
    return `\u0000ship-float:${literals.length - 1}`;
  }
  if (Array.isArray(value)) return value.map((item) => markedFloats(item, literals));
  if (!isTable(value)) return value;
  const copy: Table = {};
  for (const [key, item] of Object.entries(value)) setOwn(copy, key, markedFloats(item, literals));
  return copy;
}

/**
 * A value written on one line: tables as inline tables, arrays of tables inline too (smol-toml's
 * stringify would write them as [table] blocks). Undefined when there is no such spelling.
 */
export function inlineValueText(value: unknown): string | undefined {
  if (isTable(value)) {
    const parts: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      const text = inlineValueText(item);
      if (text === undefined) return undefined;
      parts.push(`${formatKey(key)} = ${text}`);
    }
    return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
  }
  if (Array.isArray(value)) {
    const items = value.map(inlineValueText);
    if (items.some((item) => item === undefined)) return undefined;
    return items.length === 0 ? "[]" : `[ ${items.join(", ")} ]`;
  }
  try {
    const line = writeTomlValues({ x: value });
    return line.startsWith("x = ") && line.indexOf("\n") === line.length - 1 ? line.slice(4, -1) : undefined;
  } catch {
    return undefined;
  }
}

export function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
