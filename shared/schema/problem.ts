import type { KeyPath } from "./key-path.js";

/**
 * One finding about a parsed document before it is positioned: the document's own loader turns
 * the key path (and offset) into a line and column, because only it knows the source text.
 */
export interface Problem {
  path: KeyPath;
  message: string;
  severity: "error" | "warning";
  /** Point at the key itself (unknown keys, bad record keys) or at its value. */
  at: "key" | "value";
  /** For an error inside a string value (a condition's syntax): 0-based offset into that string. */
  offset?: number;
}

/** Reads the value at a key path of plain parsed data; undefined where the path does not exist. */
export function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const segment of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

/** Longest string a message quotes whole; a longer one (a whole file parsed as one scalar) is cut. */
const SHOWN_CHARS = 60;

/** `value` quoted (JSON), cut to SHOWN_CHARS with its full length said: one line stays one line. */
export function shownString(value: string): string {
  if (value.length <= SHOWN_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, SHOWN_CHARS))}… (${value.length} characters)`;
}

/** Short description of a parsed value for messages: `string "abc"`, `number 5`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return `a date ${value.toISOString()} (quote it to make it a string)`;
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `string ${shownString(value)}`;
  return `${typeof value} ${String(value)}`;
}
