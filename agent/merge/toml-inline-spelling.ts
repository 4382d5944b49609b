/**
 * An inline table the merge writes anew (a key inside it changed, or the release added one:
 * `tls = { enabled = true, cert = '/etc/a.pem' }` gaining `protocols`) keeps the spelling of every
 * member whose value stays: the user's where it is the user's value, the release's where it is the
 * release's. Written from values, `'/etc/a.pem'` came back as `"/etc/a.pem"`, `0x1bb` as `443`, `1e3`
 * as `1000.0`, `1_000` as `1000` and `…:00Z` as `…:00.000Z`, with no word, where a file edited line
 * by line keeps them all.
 */
import { scanOutsideStrings } from "./toml-chars.js";
import { inlineLines, layOut } from "./toml-inline-lines.js";
import { formatKey, inlineValueText, readTomlValues } from "./toml-value-text.js";
import { isTable, keysOf, sameValue, type Table } from "./values.js";

interface Member {
  /** The member as written, `cert = '/etc/a.pem'`. */
  text: string;
  key: string;
  /** A dotted member's whole key (`a.b = 1`: a, b), whose first part is `key`. */
  dotted?: string[];
  valueText: string;
  value: unknown;
}

/**
 * `value` as one line (over lines where the user's table is: toml-inline-lines.ts), each member spelt as in the first of `spellings` (inline-table texts) that
 * holds it with the same value, a nested inline table member by member; the rest written from values.
 */
export function inlineTextInSpellings(
  value: unknown,
  spellings: readonly string[],
  /** An array member in the user's style (toml-array-style.ts, which calls this for its items). */
  arrayStyle: (userText: string, releaseText: string) => string = (_user, release) => release,
): string | undefined {
  const same = spellings.find((text) => sameValue(readValue(text), value));
  if (same !== undefined && same === spellings[0]) return same;
  // The user's table written over lines is read on one line and written back over lines. The
  // release's, written over lines too, is read on one line as well: unread, it was taken whole, and
  // the user's comments inside the table went with the user's layout.
  const lines = spellings[0] === undefined ? undefined : inlineLines(spellings[0]);
  const flat = spellings.map((text, i) => (i === 0 ? lines : inlineLines(text))?.flat ?? text);
  const written = oneLine(value, flat, same, arrayStyle);
  if (written === undefined || lines === undefined || written.parts === undefined) return written?.text;
  return layOut(lines, written.parts);
}

function oneLine(
  value: unknown,
  spellings: readonly string[],
  same: string | undefined,
  arrayStyle: (userText: string, releaseText: string) => string,
): { text: string; parts?: string[] } | undefined {
  const whole = (text: string | undefined) => (text === undefined ? undefined : { text });
  // The first spelling (the user's) whole; another only where it cannot be read member by member:
  // an inline table equal to the release's took the release's text, so where the user had only
  // respelt members (`host = 'a'`, `port = 0x1538`) those went when the release added one.
  if (same !== undefined && same === spellings[0]) return whole(same);
  if (!isTable(value)) return whole(same ?? inlineValueText(value));
  const known = spellings.map(members);
  if (same !== undefined && known.includes(undefined)) return whole(same);
  const parts: string[] = [];
  for (const key of writtenOrder(value, known)) {
    const item = value[key];
    const dotted = dottedParts(key, item, known);
    if (dotted !== undefined) {
      parts.push(...dotted);
      continue;
    }
    const found = known.map((list) => list?.find((m) => m.key === key && m.dotted === undefined));
    const userArray = found[0]?.valueText.startsWith("[") === true ? found[0].valueText : undefined;
    const kept = found.find((m) => m !== undefined && sameValue(m.value, item));
    if (kept !== undefined && (kept === found[0] || userArray === undefined)) {
      parts.push(kept.text);
      continue;
    }
    const nested = found.flatMap((m) => (m?.valueText.startsWith("{") ? [m.valueText] : []));
    let text =
      kept?.valueText ??
      (nested.length > 0 ? inlineTextInSpellings(item, nested, arrayStyle) : inlineValueText(item));
    if (text === undefined) return undefined;
    // An array member in the user's spelling of the items it keeps, as a key's array (toml-array-style.ts).
    if (userArray !== undefined) text = arrayStyle(userArray, text);
    const mine = found.find((m) => m !== undefined);
    parts.push(
      `${mine === undefined ? formatKey(key) : mine.text.slice(0, mine.text.indexOf("=")).trimEnd()} = ${text}`,
    );
  }
  // `{ a = 1 }`, `{a = 1}` or `{\ta = 1\t}`, and `, ` or `,\t` between members, as the first
  // spelling (the user's) has them: a tab there came back as a space, with no word.
  const first = spellings[0] ?? "{ ";
  const open = /^\{([ \t]*)/.exec(first)?.[1] ?? " ";
  const close = /([ \t]*)\}$/.exec(first)?.[1] ?? open;
  const written = topLevelSplit(first.slice(1, -1));
  const second = written?.[1];
  const between = second === undefined ? " " : (/^[ \t]*/.exec(second)?.[0] ?? " ");
  // A comma after the last member (TOML 1.1, `{ a = 1, }`) stays, as an array's does.
  const trailing = written !== undefined && written.length > 1 && written.at(-1)?.trim() === "" ? "," : "";
  return parts.length === 0
    ? { text: "{}" }
    : { text: `{${open}${parts.join(`,${between}`)}${trailing}${close}}`, parts };
}

/**
 * The members of table `key` as dotted keys (`a.b = 1, a.c = 2`), where the first spelling that
 * writes `key` writes it so: each in the spelling of a member with the same key and value, the
 * user's order first. Written from values, they became one nested inline table moved after the
 * other members (`{ c = 2, a = { b = 5 } }`), with no word.
 */
function dottedParts(
  key: string,
  item: unknown,
  known: readonly (Member[] | undefined)[],
): string[] | undefined {
  const writer = known.find((list) => list?.some((m) => m.key === key));
  if (!isTable(item) || writer?.some((m) => m.key === key && m.dotted !== undefined) !== true)
    return undefined;
  const spelt = known.flatMap((list) => list?.filter((m) => m.key === key && m.dotted !== undefined) ?? []);
  const named = (path: readonly string[]) => spelt.some((m) => m.dotted?.join("\0") === path.join("\0"));
  const leaves = leavesOf(item, [key], named);
  const at = (path: readonly string[]) =>
    writer.findIndex((m) => m.dotted !== undefined && m.dotted.join("\0") === path.join("\0"));
  const order = (path: readonly string[]) => (at(path) === -1 ? Number.MAX_SAFE_INTEGER : at(path));
  return leaves
    .map((leaf, i) => ({ leaf, i }))
    .sort((a, b) => order(a.leaf.path) - order(b.leaf.path) || a.i - b.i)
    .map(({ leaf }) => {
      const same = spelt.filter((m) => m.dotted?.join("\0") === leaf.path.join("\0"));
      const kept = same.find((m) => sameValue(m.value, leaf.value));
      if (kept !== undefined) return kept.text;
      const keyText = same[0]?.text.slice(0, topLevelEquals(same[0].text)).trimEnd();
      const nested = same.flatMap((m) => (m.valueText.startsWith("{") ? [m.valueText] : []));
      const text = nested.length > 0 ? inlineTextInSpellings(leaf.value, nested) : undefined;
      return `${keyText ?? leaf.path.map(formatKey).join(".")} = ${text ?? inlineValueText(leaf.value)}`;
    });
}

/**
 * The values under a table, each with its whole key; an empty table is a value of its own, and so
 * is one a member names whole (`a.b = { x = 1 }`).
 */
function leavesOf(
  table: Table,
  path: readonly string[],
  named: (path: readonly string[]) => boolean,
): { path: string[]; value: unknown }[] {
  return keysOf(table).flatMap((key) => {
    const value = table[key];
    const at = [...path, key];
    return isTable(value) && keysOf(value).length > 0 && !named(at)
      ? leavesOf(value, at, named)
      : [{ path: at, value }];
  });
}

/**
 * The table's keys in the order the spellings write them, the user's first, then the release's new
 * ones: a JS object lists keys that read as array indices first, so `{ zeta = 1, 404 = 1 }` came
 * back as `{ 404 = 1, zeta = 2 }`. Keys no spelling writes (a dotted member's) follow.
 */
function writtenOrder(value: Table, known: readonly (Member[] | undefined)[]): string[] {
  const written = known.flatMap((list) => list?.map((member) => member.key) ?? []);
  return [...new Set([...written, ...keysOf(value)])].filter((key) => Object.hasOwn(value, key));
}

/**
 * Where an inline table's text (over lines too) writes the member at `path` below it, as an index
 * among its members, nested inline tables followed; undefined where the text cannot be read so.
 */
export function memberPlace(text: string, path: readonly string[]): number | undefined {
  const list = members(inlineLines(text)?.flat ?? text)?.filter((member) => member.dotted === undefined);
  const at = list?.findIndex((member) => member.key === path[0]) ?? -1;
  if (list === undefined || at === -1) return undefined;
  return path.length === 1 ? at : memberPlace((list[at] as Member).valueText, path.slice(1));
}

/** The members of an inline table's text, or undefined when it cannot be read member by member. */
function members(text: string): Member[] | undefined {
  if (!text.startsWith("{") || !text.endsWith("}") || /"""|'''/.test(text)) return undefined;
  const parts = topLevelSplit(text.slice(1, -1));
  if (parts === undefined) return undefined;
  const found: Member[] = [];
  for (const part of parts) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const at = topLevelEquals(trimmed);
    if (at === -1) return undefined;
    const keyText = trimmed.slice(0, at).trim();
    const path = keyPath(keyText);
    const key = path?.[0];
    if (path === undefined || key === undefined) continue;
    const valueText = trimmed.slice(at + 1).trim();
    // A dotted key (`a.b = 1`) spells part of a nested table, which dottedParts writes.
    found.push({
      text: trimmed,
      key,
      valueText,
      value: readValue(valueText),
      ...(path.length > 1 ? { dotted: path } : {}),
    });
  }
  return found;
}

/** The key a member's key text names, its parts in order (`a."b.c"`: a, b.c). */
function keyPath(keyText: string): string[] | undefined {
  try {
    let node: unknown = readTomlValues(`${keyText} = 0\n`);
    const path: string[] = [];
    while (isTable(node)) {
      const keys = Object.keys(node);
      if (keys.length !== 1) return undefined;
      path.push(keys[0] as string);
      node = node[keys[0] as string];
    }
    return path.length === 0 ? undefined : path;
  } catch {
    return undefined;
  }
}

function readValue(valueText: string): unknown {
  try {
    const read = readTomlValues(`x = ${valueText}\n`);
    return isTable(read) ? read.x : undefined;
  } catch {
    return undefined;
  }
}

/** Splits at the commas outside strings and brackets; undefined for text it cannot follow. */
function topLevelSplit(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  const stop = scanOutsideStrings(text, (char, at) => {
    if (char === "[" || char === "{") depth++;
    else if (char === "]" || char === "}") depth--;
    else if (char === "," && depth === 0) {
      parts.push(text.slice(start, at));
      start = at + 1;
    }
    return char === "#" || char === "\n";
  });
  if (stop !== -1 || depth !== 0) return undefined;
  parts.push(text.slice(start));
  return parts;
}

function topLevelEquals(part: string): number {
  return scanOutsideStrings(part, (char) => char === "=") ?? -1;
}
