/**
 * A TOML array the release changes is written as the release spells it, but on the lines the user
 * gave it: one item per line where the user wrote it so (`dependencies = [` then `"requests",` …
 * `]`, as pyproject files and formatters such as taplo write them), on one line where the user
 * wrote `[a, b]`. The release's one-line `["requests", "click", "rich"]` used to replace the user's
 * item-per-line array, and the reverse, with no word. JSON and YAML keep a user's array style too.
 */
import { scanOutsideStrings } from "./toml-chars.js";
import { pairElements } from "./toml-element-pairing.js";
import { inlineTextInSpellings } from "./toml-inline-spelling.js";
import { readTomlValues } from "./toml-value-text.js";
import { UnusedItems } from "./unused-items.js";
import { isTable, sameValue } from "./values.js";

/**
 * The release's array text in the user's style; the release's own text when that cannot be told.
 * `shippedText`, the previous release's array, tells which of the user's item notes are still as it
 * shipped them: the release's rewrite of such a note takes its place.
 */
export function inUserArrayStyle(userText: string, releaseText: string, shippedText?: string): string {
  if (!userText.startsWith("[")) return releaseText;
  // An empty array (`[]`) shows no style of the user's.
  if (/^\[\s*\]$/.test(userText)) return releaseText;
  const userLines = userText.includes("\n");
  const commented = userLines ? commentedLines(userText) : undefined;
  // The release's own comments come where the user wrote none, beside the user's comments.
  const theirs = commented === undefined ? undefined : commentedLines(releaseText);
  const released = theirs?.items.map((line) => line.item) ?? arrayItems(releaseText);
  if (released === undefined || released.length === 0) return releaseText;
  const matched = userItemsIn(released, commented?.items.map((line) => line.item) ?? arrayItems(userText));
  const items = matched.map((match) => match.text);
  const respelt = items.some((item, index) => item !== released[index]);
  // `[ a, b ]` or `[a, b]` on one line, as the user pads theirs.
  const padded = (text: string) => /^\[[ \t]/.test(text);
  const sameStyle = userLines
    ? releaseText.includes("\n")
    : !releaseText.includes("\n") && padded(userText) === padded(releaseText);
  if (commented === undefined && !respelt && sameStyle) return releaseText;
  const styled =
    commented !== undefined
      ? withUserComments(matched, commented, userText, {
          release: theirs,
          shipped: shippedText === undefined ? undefined : commentedLines(shippedText),
        })
      : userLines
        ? itemPerLine(items, userText)
        : oneLine(items, userText);
  return readsAlike(styled, releaseText) ? styled : releaseText;
}

/** A release item's text, and the user's item it is (whose comments it keeps), if any. */
interface MatchedItem {
  text: string;
  mine: number | undefined;
}

/**
 * Each item of the release's that the user's array also holds (the same value) in the user's
 * spelling: their `'click>=8'` stayed `"click>=8"`, `0x50` became `80`, when the release added an
 * item. An inline table the release changed (`{ name = "web", port = 8080 }`) is the user's item it
 * is (by identity, place or likeness, as `[[array]]` elements pair), its members spelt as the user's
 * where their values stay; its comments stay too.
 */
function userItemsIn(items: readonly string[], userItems: readonly string[] | undefined): MatchedItem[] {
  const plain = items.map((text) => ({ text, mine: undefined }));
  const values = itemValues(items);
  const mine = userItems === undefined ? undefined : itemValues(userItems);
  if (values === undefined || mine === undefined || userItems === undefined) return plain;
  const unused = new UnusedItems(userItems.length);
  const spelt = unused.index(userItems);
  const alike = unused.byValue(mine);
  const matched: MatchedItem[] = items.map((item, index) => {
    const at = unused.take(spelt(item) ?? alike(values[index]));
    return at === undefined ? { text: item, mine: undefined } : { text: userItems[at] as string, mine: at };
  });
  // A changed item is the user's item it is as an `[[array]]` element is (toml-element-pairing.ts).
  const { pairs } = pairElements(mine, values);
  matched.forEach((match, index) => {
    const value = values[index];
    const at = pairs[index];
    if (match.mine !== undefined || !isTable(value) || at === undefined) return;
    if (!unused.has(at) || !isTable(mine[at])) return;
    const text = inlineTextInSpellings(value, [userItems[at] as string, match.text], inUserArrayStyle);
    if (text === undefined) return;
    matched[index] = { text, mine: unused.take(at) };
  });
  return matched;
}

/** The values of an array's item texts, read once; undefined when they do not read as TOML. */
function itemValues(items: readonly string[]): unknown[] | undefined {
  try {
    const array = (readTomlValues(`x = [${items.join(", ")}]\n`) as { x: unknown }).x;
    return Array.isArray(array) && array.length === items.length ? array : undefined;
  } catch {
    return undefined;
  }
}

/** One item line of the user's array: the comment lines above it, the item, what follows its comma. */
interface ItemLine {
  above: string[];
  indent: string;
  item: string;
  after: string;
}

/** An item-per-line array holding comments, line by line. */
interface CommentedLines {
  /** What follows `[` on its line (`  # runtime deps`). */
  head: string;
  items: ItemLine[];
  /** Comment (and blank) lines after the last item. */
  tail: string[];
}

/**
 * The user's item-per-line array with comments (`# pinned for CVE-…` above an item, `# cli` after
 * one), or undefined when it holds none or is not one item per line (several on a line, an item
 * spread over lines): then the comments go with the old value, named in a WARNING.
 */
function commentedLines(text: string): CommentedLines | undefined {
  if (!text.includes("#") || text.includes('"""') || text.includes("'''")) return undefined;
  const lines = text.split("\n");
  const first = splitComment((lines[0] ?? "").slice(1));
  const last = lines[lines.length - 1] ?? "";
  if (first === undefined || first.code.trim() !== "" || !/^[ \t]*\]$/.test(last)) return undefined;
  const items: ItemLine[] = [];
  let pending: string[] = [];
  for (const line of lines.slice(1, -1)) {
    const split = splitComment(line);
    if (split === undefined) return undefined;
    const code = split.code.trimEnd();
    if (code.trim() === "") {
      pending.push(line);
      continue;
    }
    const comma = code.endsWith(",");
    const item = (comma ? code.slice(0, -1) : code).trim();
    // A line without a comma ends the list; one item per line, each whole on its line.
    if (items.length > 0 && !items[items.length - 1]?.after.startsWith(",")) return undefined;
    if (arrayItems(`[${item}]`)?.length !== 1) return undefined;
    const indent = /^[ \t]*/.exec(line)?.[0] ?? "";
    items.push({ above: pending, indent, item, after: line.slice(code.length - (comma ? 1 : 0)) });
    pending = [];
  }
  const commented = first.comment !== "" || items.some((i) => i.above.length > 0 || i.after.includes("#"));
  if (items.length === 0 || !(commented || pending.some((l) => l.includes("#")))) return undefined;
  return { head: (lines[0] ?? "").slice(1), items, tail: pending };
}

/** A line's code and its comment (from a `#` outside strings); undefined for a line it cannot read. */
function splitComment(line: string): { code: string; comment: string } | undefined {
  const at = scanOutsideStrings(line, (char) => char === "#");
  if (at === undefined) return undefined;
  return at === -1 ? { code: line, comment: "" } : { code: line.slice(0, at), comment: line.slice(at) };
}

/**
 * The release's items one per line, each item the user also has with the user's comments above
 * and after it; the comments after `[` and before `]` stay. Only the comments of items the release
 * dropped or changed go. Where the user wrote no comment (an item of the release's, the line after
 * `[`, the lines before `]`) the release's own comes, when its array has any.
 */
function withUserComments(
  items: readonly MatchedItem[],
  user: CommentedLines,
  userText: string,
  { release, shipped }: { release: CommentedLines | undefined; shipped: CommentedLines | undefined },
): string {
  const close = /\n([ \t]*)\]$/.exec(userText)?.[1] ?? "";
  const trailing = user.items[user.items.length - 1]?.after.startsWith(",") === true;
  const indent = user.items[0]?.indent ?? "    ";
  // The previous release's line of each item text, its first as find gave it.
  const shippedLines = new Map<string, ItemLine>();
  for (const line of shipped?.items ?? [])
    if (!shippedLines.has(line.item)) shippedLines.set(line.item, line);
  const lines = items.flatMap(({ text, mine: at }, index) => {
    const mine = at === undefined ? undefined : user.items[at];
    const theirs = release?.items[index];
    const mineFirst = mine !== undefined && (hasComment(mine) || theirs === undefined || !hasComment(theirs));
    const notes = mineFirst ? mine : theirs;
    const was = mine === undefined ? undefined : shippedLines.get(mine.item);
    // A note of the user's still as the previous release shipped it is the release's to rewrite, above
    // the item or after it, as a key's note is (toml-text-edit.ts shippedComments).
    const rewritten = (part: "above" | "after") =>
      mine !== undefined &&
      was !== undefined &&
      theirs !== undefined &&
      notePart(theirs, part) !== "" &&
      notePart(mine, part) === notePart(was, part) &&
      notePart(theirs, part) !== notePart(mine, part);
    const above = rewritten("above") ? theirs?.above : notes?.above;
    const comma = index < items.length - 1 || trailing ? "," : "";
    const after = (rewritten("after") ? theirs : notes)?.after.replace(/^,/, "") ?? "";
    return [...(above ?? []), `${mine?.indent ?? indent}${text}${comma}${after}`];
  });
  const commentIn = (part: string) => part.includes("#");
  const head = commentIn(user.head) || release === undefined ? user.head : release.head;
  const tail = user.tail.some(commentIn) || release === undefined ? user.tail : release.tail;
  return `[${head}\n${[...lines, ...tail].join("\n")}\n${close}]`;
}

/** An item line's comment lines above it, or its comment after it, without spacing and comma. */
function notePart(line: ItemLine, part: "above" | "after"): string {
  const text = part === "above" ? line.above.join("\n") : line.after.replace(/^,/, "");
  return text.replace(/^[ \t]+|[ \t]+$/gm, "");
}

function hasComment(line: ItemLine): boolean {
  return line.above.some((above) => above.includes("#")) || line.after.includes("#");
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
