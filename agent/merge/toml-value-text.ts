/** TOML spellings of single values, for lines the merge writes itself. */
import { parse, stringify } from "smol-toml";
import { isTable } from "./values.js";

/**
 * TOML values as the merge reads them: integers as BigInt, so an integer and a float are told apart
 * (`1` and `1.0` are two types in TOML, and an app that reads a float may refuse an integer), and
 * written back the same way: a JS number is a float (`1.0`), a BigInt an integer.
 */
export function readTomlValues(text: string): unknown {
  return parse(text, { integersAsBigInt: true });
}

export function writeTomlValues(value: unknown): string {
  return stringify(value, { numbersAsFloat: true });
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
