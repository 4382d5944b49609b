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

/** Short description of a parsed value for messages: `string "abc"`, `number 5`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return `a date ${value.toISOString()} (quote it to make it a string)`;
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}
