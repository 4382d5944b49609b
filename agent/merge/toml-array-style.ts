/**
 * A TOML array the release changes is written as the release spells it, but on the lines the user
 * gave it: one item per line where the user wrote it so (`dependencies = [` then `"requests",` …
 * `]`, as pyproject files and formatters such as taplo write them), on one line where the user
 * wrote `[a, b]`. The release's one-line `["requests", "click", "rich"]` used to replace the user's
 * item-per-line array, and the reverse, with no word. JSON and YAML keep a user's array style too.
 */
import { readTomlValues } from "./toml-value-text.js";
import { sameValue } from "./values.js";

/** The release's array text in the user's style; the release's own text when that cannot be told. */
export function inUserArrayStyle(userText: string, releaseText: string): string {
  const userLines = userText.includes("\n");
  if (userLines === releaseText.includes("\n") || !userText.startsWith("[")) return releaseText;
  // An empty array (`[]`) shows no style of the user's.
  if (/^\[\s*\]$/.test(userText)) return releaseText;
  const items = arrayItems(releaseText);
  if (items === undefined || items.length === 0) return releaseText;
  const styled = userLines ? itemPerLine(items, userText) : oneLine(items, userText);
  return readsAlike(styled, releaseText) ? styled : releaseText;
}

/**
 * The item texts of a one-level-deep array literal, or undefined when it holds a comment (its
 * release lines stay) or an item spread over lines: those are kept as the release wrote them.
 */
function arrayItems(text: string): string[] | undefined {
  if (!text.startsWith("[") || !text.endsWith("]")) return undefined;
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 1;
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i] as string;
    if (quote !== undefined) {
      if (char === "\\" && quote === '"') i++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (text.startsWith('"""', i) || text.startsWith("'''", i) || char === "#") return undefined;
    if (char === '"' || char === "'") quote = char;
    else if (char === "[" || char === "{") depth++;
    else if (char === "]" || char === "}") depth--;
    else if (char === "," && depth === 0) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start, -1).trim();
  if (last !== "") items.push(last);
  return items.some((item) => item === "" || item.includes("\n")) ? undefined : items;
}

/** One item per line, indented as the user's first item, closed as the user's array, and with a
 * comma after the last item when the user's has one. */
function itemPerLine(items: readonly string[], userText: string): string {
  const indent = /^\[[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*([ \t]*)\S/.exec(userText)?.[1] ?? "    ";
  const close = /\n([ \t]*)\]$/.exec(userText)?.[1] ?? "";
  const trailing = /,[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*\]$/.test(userText) ? "," : "";
  return `[\n${items.map((item) => `${indent}${item}`).join(",\n")}${trailing}\n${close}]`;
}

/** `[a, b]`, or `[ a, b ]` where the user's array has spaces inside its brackets. */
function oneLine(items: readonly string[], userText: string): string {
  const pad = /^\[[ \t]/.test(userText) ? " " : "";
  return `[${pad}${items.join(", ")}${pad}]`;
}

function readsAlike(a: string, b: string): boolean {
  try {
    return sameValue(readTomlValues(`x = ${a}\n`), readTomlValues(`x = ${b}\n`));
  } catch {
    return false;
  }
}
