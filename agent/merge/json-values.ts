/**
 * JSON text ↔ values without JSON.parse's loss: an integer is read as a BigInt (as smol-toml does
 * for TOML), so a merge neither rounds one beyond 2^53 nor mistakes two for the same value, nor an
 * integer for a float (`1` and `1.0`), and is written back digit for digit. The text is valid JSON (JSON.parse checked it first).
 */
import { UnusedItems } from "./unused-items.js";
import { isTable, keysOf, sameValue, setOwn, type Table } from "./values.js";

/**
 * `repeats`, when given, is told each key an object writes again, as the refusal needs it: JSON
 * readers disagree on which one counts (JSON.parse and Go take the last, serde refuses the file).
 */
export function readJson(text: string, repeats?: RepeatedKey[]): unknown {
  return readValue({
    text,
    pos: 0,
    path: [],
    inline: new Map(),
    spaced: true,
    ...(repeats ? { repeats } : {}),
  });
}

/** A key an object writes again: where it is first, where again. */
export interface RepeatedKey {
  key: string;
  first: number;
  offset: number;
}

/**
 * The objects and arrays the text writes on one line (`"db": {"c": 7}`), by path (pathKey), each
 * with whether it spaces its members (`{"a": 1, "b": 2}` rather than `{"a":1,"b":2}`).
 */
export function inlineContainers(text: string): Map<string, boolean> {
  // An empty `{}` shows no spacing of its own: the file's (`{"a": 1}` unless it writes `"a":1`).
  const spaced = !/"\s*:[^\s]/.test(text);
  const reader: Reader = { text, pos: 0, path: [], inline: new Map(), spaced };
  readValue(reader);
  return reader.inline;
}

/**
 * Numbers the text spells otherwise than JSON.stringify would (`1.0`, `1e3`, `-0.0`, more digits
 * than a double holds: `0.1000000000000000055511151231257827`), by path (pathKey), as written.
 * writeJson writes a number as one of these when it is the same value, so a merge neither rounds
 * the release's digits nor respells the user's. Strings and keys written with escapes JSON.stringify
 * would not use (`"caf\u00e9"`) are noted alike (keys by keySpelling), so a line the merge changes
 * keeps them too.
 */
export function numberSpellings(text: string): Map<string, string> {
  const reader: Reader = { text, pos: 0, path: [], inline: new Map(), spaced: true, spellings: new Map() };
  readValue(reader);
  return reader.spellings ?? new Map();
}

export function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

/**
 * What the user's text notes by path (numberSpellings, inlineContainers) moved to where their values
 * stand in `merged`: an array item the release moved (an item inserted before it) is spelt and laid
 * out by path, so the user's `"caf\u00e9"` or `1.50` came back as `"café"` and `1.5`, and an item
 * written on one line spread over lines, with no word, once the release put an item above it.
 * Items are paired with an equal item of the user's, else with the user's item at their place.
 */
export function followItems<T>(
  spellings: ReadonlyMap<string, T>,
  user: unknown,
  merged: unknown,
): Map<string, T> {
  const moved = new Map<string, T>();
  // Most files spell nothing otherwise than JSON.stringify would: nothing to move.
  if (spellings.size === 0) return moved;
  const keyed = [...spellings.keys()].some((key) => key.startsWith("key "));
  const copy = (from: string, to: string) => {
    const token = spellings.get(from);
    if (token !== undefined) moved.set(to, token);
  };
  const walk = (from: (string | number)[], to: (string | number)[], mine: unknown, now: unknown) => {
    copy(pathKey(from), pathKey(to));
    if (keyed) copy(keySpelling(from), keySpelling(to));
    if (Array.isArray(mine) && Array.isArray(now)) {
      // Found through a hash index: a scan of the free items took time that grew with their square.
      const unused = new UnusedItems(mine.length);
      const equal = unused.byValue(mine);
      const pairs = now.map((item, i) =>
        unused.take(unused.has(i) && sameValue(mine[i], item) ? i : equal(item)),
      );
      now.forEach((item, i) => {
        const at = pairs[i] ?? (unused.has(i) ? i : undefined);
        if (at !== undefined) walk([...from, at], [...to, i], mine[at], item);
      });
    } else if (isTable(mine) && isTable(now)) {
      for (const key of Object.keys(now)) {
        if (Object.hasOwn(mine, key)) walk([...from, key], [...to, key], mine[key], now[key]);
      }
    }
  };
  walk([], [], user, merged);
  return moved;
}

interface Reader {
  text: string;
  pos: number;
  path: (string | number)[];
  inline: Map<string, boolean>;
  spaced: boolean;
  spellings?: Map<string, string>;
  repeats?: RepeatedKey[];
}

/** Notes a container that opened at `start` and has just closed, when it is on one line. */
function noteInline(r: Reader, start: number): void {
  if (r.text.slice(start, r.pos).includes("\n")) return;
  // Separators inside strings say nothing: `["eslint:recommended"]` read as written `"a":b`, so the
  // release's second item came as `["eslint:recommended","prettier"]`.
  const source = r.text.slice(start, r.pos).replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const empty = !/[:,]/.test(source);
  r.inline.set(pathKey(r.path), empty ? r.spaced : /[:,] /.test(source));
}

function readValue(r: Reader): unknown {
  skipSpace(r);
  const c = r.text[r.pos];
  if (c === "{") return readObject(r);
  if (c === "[") return readArray(r);
  if (c === '"') {
    const start = r.pos;
    const text = readString(r);
    noteSpelling(r, pathKey(r.path), r.text.slice(start, r.pos), text);
    return text;
  }
  const token = /^-?[0-9][0-9eE.+-]*|^true|^false|^null/.exec(r.text.slice(r.pos, r.pos + 400))?.[0] ?? "";
  r.pos += token.length;
  if (token === "true" || token === "false" || token === "null") return JSON.parse(token);
  const number = Number(token);
  if (r.spellings !== undefined && JSON.stringify(number) !== token) r.spellings.set(pathKey(r.path), token);
  // Integers as BigInt, every one: `1` and `1.0` are two types, as in TOML and YAML (Go's
  // encoding/json and serde refuse `2.0` for an int field). `-0` is the integer 0, as those read
  // it: read as the float -0 it was a change of type beside a `0` (writeJson keeps its spelling).
  return /^-?[0-9]+$/.test(token) ? BigInt(token) : number;
}

function readObject(r: Reader): Table {
  const table: Table = {};
  const start = r.pos;
  r.pos++;
  skipSpace(r);
  // Where each key is first written.
  const starts = new Map<string, number>();
  while (r.text[r.pos] !== "}") {
    skipSpace(r);
    const keyStart = r.pos;
    const key = readString(r);
    noteSpelling(r, keySpelling([...r.path, key]), r.text.slice(keyStart, r.pos), key);
    const first = starts.get(key);
    if (first === undefined) starts.set(key, keyStart);
    else r.repeats?.push({ key, first, offset: keyStart });
    skipSpace(r);
    r.pos++; // :
    // A repeated key (only a text the merge made, the copies refuse them): the last one counts, as for JSON.parse.
    if (first !== undefined) delete table[key];
    r.path.push(key);
    setOwn(table, key, readValue(r));
    r.path.pop();
    skipSpace(r);
    if (r.text[r.pos] === ",") r.pos++;
    skipSpace(r);
  }
  r.pos++;
  noteInline(r, start);
  return table;
}

function noteSpelling(r: Reader, at: string, raw: string, text: string): void {
  if (r.spellings !== undefined && raw !== JSON.stringify(text)) r.spellings.set(at, raw);
}

/** Where numberSpellings notes the spelling of the key at the end of `path`. */
function keySpelling(path: readonly (string | number)[]): string {
  return `key ${pathKey(path)}`;
}

function readArray(r: Reader): unknown[] {
  const items: unknown[] = [];
  const start = r.pos;
  r.pos++;
  skipSpace(r);
  while (r.text[r.pos] !== "]") {
    r.path.push(items.length);
    items.push(readValue(r));
    r.path.pop();
    skipSpace(r);
    if (r.text[r.pos] === ",") r.pos++;
    skipSpace(r);
  }
  r.pos++;
  noteInline(r, start);
  return items;
}

function readString(r: Reader): string {
  const start = r.pos;
  r.pos++;
  while (r.text[r.pos] !== '"') r.pos += r.text[r.pos] === "\\" ? 2 : 1;
  r.pos++;
  return JSON.parse(r.text.slice(start, r.pos)) as string;
}

function skipSpace(r: Reader): void {
  while (/\s/.test(r.text[r.pos] ?? "")) r.pos++;
}

export interface JsonLayout {
  /** Per level; "" writes everything on one line. */
  indent: string;
  /** Containers written on one line, by pathKey, each with whether it spaces its members. */
  inline: ReadonlyMap<string, boolean>;
  /** numberSpellings of the texts the values came from, the user's first. */
  spellings?: readonly ReadonlyMap<string, string>[];
}

/** JSON.stringify's layout, but containers the user wrote on one line stay on one line; BigInts as digits. */
export function writeJson(
  value: unknown,
  layout: JsonLayout,
  path: (string | number)[] = [],
  flat?: boolean,
): string {
  if (typeof value === "bigint") {
    const key = pathKey(path);
    const spelt = (layout.spellings ?? [])
      .map((spellings) => spellings.get(key))
      .find((token) => token !== undefined && /^-?[0-9]+$/.test(token) && BigInt(token) === value);
    return spelt ?? value.toString();
  }
  if (typeof value === "number") {
    const key = pathKey(path);
    for (const spellings of layout.spellings ?? []) {
      const token = spellings.get(key);
      if (token !== undefined && Object.is(Number(token), value)) return token;
    }
    // A float: integers are BigInts, so a whole float is written so that it reads back as a float.
    const text = JSON.stringify(value);
    if (text !== undefined && /^-?[0-9]+$/.test(text) && !Object.is(value, -0)) return `${text}.0`;
  }
  if (typeof value === "string") return spelt(layout, pathKey(path), value) ?? JSON.stringify(value);
  const spaced = flat ?? layout.inline.get(pathKey(path));
  const oneLine = spaced !== undefined || layout.indent === "";
  const depth = path.length;
  const open = oneLine ? "" : `\n${layout.indent.repeat(depth + 1)}`;
  const close = oneLine ? "" : `\n${layout.indent.repeat(depth)}`;
  const comma = oneLine && spaced ? ", " : `,${open}`;
  const colon = oneLine && !spaced ? ":" : ": ";
  const write = (item: unknown, key: string | number) =>
    writeJson(item ?? null, layout, [...path, key], oneLine ? (spaced ?? false) : undefined);
  if (Array.isArray(value)) {
    return value.length === 0 ? "[]" : `[${open}${value.map(write).join(comma)}${close}]`;
  }
  if (value !== null && typeof value === "object") {
    const members = (
      isTable(value) ? keysOf(value).map((k) => [k, value[k]] as const) : Object.entries(value)
    ).map(
      ([k, v]) => `${spelt(layout, keySpelling([...path, k]), k) ?? JSON.stringify(k)}${colon}${write(v, k)}`,
    );
    return members.length === 0 ? "{}" : `{${open}${members.join(comma)}${close}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The first of the texts' spellings at `at` that reads as the string `text`. */
function spelt(layout: JsonLayout, at: string, text: string): string | undefined {
  for (const spellings of layout.spellings ?? []) {
    const token = spellings.get(at);
    if (token?.startsWith('"') && JSON.parse(token) === text) return token;
  }
  return undefined;
}
