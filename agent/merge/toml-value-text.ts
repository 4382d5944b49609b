/** TOML spellings of single values, for lines the merge writes itself. */
import { stringify } from "smol-toml";
import { isTable } from "./values.js";

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
    const line = stringify({ x: value });
    return line.startsWith("x = ") && line.indexOf("\n") === line.length - 1 ? line.slice(4, -1) : undefined;
  } catch {
    return undefined;
  }
}

export function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
