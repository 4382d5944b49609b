/**
 * JSON.parse is not linear in nesting: 2 MB of `[[[[…` (a million levels) takes V8 about 3 s, on
 * the event loop, before any schema sees the value. Bodies and messages are scanned first, in one
 * pass over the bytes, and refused past a depth, a number of keys and a number of values no
 * legitimate one comes near.
 */

/** The deepest a hub request body or agent message may nest (theirs are a handful of levels). */
export const MAX_JSON_DEPTH = 64;

/** The most object members (`"key": value` pairs, counted by their colons) a body or message may hold. */
export const MAX_JSON_MEMBERS = 10_000;

/**
 * The most values (array elements and object members, counted by the commas between them) a hub
 * request body may hold: a rollout naming its 10,000 agents (MAX_NAMED_AGENTS) and 10,000 label keys
 * stays under it. Counting keys alone let a list through: 600,000 `{}` as a wave's agents (1.8 MB)
 * held the hub's event loop 4 s in JSON.parse and validation, and ended in a 500 ("Maximum call
 * stack size exceeded") where a 400 belonged.
 */
export const MAX_JSON_VALUES = 30_000;

/**
 * The most values an agent message may hold. A schema check costs microseconds per wrong value: a
 * report of 400,000 numbers where key paths belong (800 KB, under max_message_kb) kept the hub's
 * event loop 6.5 s in validation and in wording the error. The agent shortens its merge reports to
 * stay far below.
 */
export const MAX_MESSAGE_VALUES = 20_000;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COLON = 0x3a; // :
const COMMA = 0x2c; // ,

/**
 * Why the JSON text `bytes` is refused before it is parsed, naming `what` (`body`, `message`):
 * nested past MAX_JSON_DEPTH, more than MAX_JSON_MEMBERS keys (100,000 label keys, 1.6 MB, took
 * JSON.parse and the schema 1.5 s) or more than `maxValues` values; undefined when none. One pass
 * over the bytes outside strings (brackets, colons and commas in strings do not count), no parse:
 * it runs on every body and message.
 */
export function jsonShapeProblem(
  bytes: Uint8Array,
  what: string,
  maxValues: number,
  maxMembers = MAX_JSON_MEMBERS,
): string | undefined {
  let depth = 0;
  let members = 0;
  let commas = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > MAX_JSON_DEPTH) return tooDeepMessage(what);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COLON) {
      if (++members > maxMembers) return `${what}: more than ${maxMembers} keys`;
    } else if (c === COMMA && ++commas >= maxValues) return `${what}: more than ${maxValues} values`;
  }
  return undefined;
}

/** Whether the JSON text `bytes` nests objects/arrays deeper than MAX_JSON_DEPTH (strings skipped). */
export function nestsDeeperThan(bytes: Uint8Array): boolean {
  return jsonShapeProblem(bytes, "", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY) !== undefined;
}

/** The one-line refusal, naming `what` (`body`, `message`). */
export function tooDeepMessage(what: string, max: number = MAX_JSON_DEPTH): string {
  return `${what}: nested deeper than ${max} levels`;
}
