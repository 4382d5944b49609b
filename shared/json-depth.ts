/**
 * JSON.parse is not linear in nesting: 2 MB of `[[[[…` (a million levels) takes V8 about 3 s, on
 * the event loop, before any schema sees the value. Bodies and messages are scanned first, in one
 * pass over the bytes, and refused past a depth (and, for request bodies, a number of keys) no
 * legitimate one comes near.
 */

/** The deepest a hub request body or agent message may nest (theirs are a handful of levels). */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Calls `stop` with each byte of the JSON text `bytes` outside its strings (quotes and escapes
 * skipped); true as soon as `stop` says so, false at the end. One pass, no parse.
 */
function someOutsideStrings(bytes: Uint8Array, stop: (byte: number) => boolean): boolean {
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (stop(c)) return true;
  }
  return false;
}

/** Whether the JSON text `bytes` nests objects/arrays deeper than `max` (brackets in strings do not count). */
export function nestsDeeperThan(bytes: Uint8Array, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  return someOutsideStrings(bytes, (c) => {
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) return ++depth > max;
    if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    return false;
  });
}

/**
 * The most object members (`"key": value` pairs, counted by their colons) a hub request body may
 * hold: its bodies have dozens. 100,000 label keys (1.6 MB) took JSON.parse and the schema 1.5 s.
 */
export const MAX_JSON_MEMBERS = 10_000;

const COLON = 0x3a; // :

/** Whether the JSON text `bytes` holds more than `max` object members (colons in strings do not count). */
export function hasMoreMembersThan(bytes: Uint8Array, max: number = MAX_JSON_MEMBERS): boolean {
  let members = 0;
  return someOutsideStrings(bytes, (c) => c === COLON && ++members > max);
}

/**
 * The most values (array elements and object members, counted by the commas between them) an agent
 * message may hold. A schema check costs microseconds per wrong value: a report of 400,000 numbers
 * where key paths belong (800 KB, under max_message_kb) kept the hub's event loop 6.5 s in
 * validation and in wording the error. The agent shortens its merge reports to stay far below.
 */
export const MAX_MESSAGE_VALUES = 20_000;

const COMMA = 0x2c; // ,

/** Whether the JSON text `bytes` holds more than `max` values (commas in strings do not count). */
export function hasMoreValuesThan(bytes: Uint8Array, max: number): boolean {
  let commas = 0;
  return someOutsideStrings(bytes, (c) => c === COMMA && ++commas >= max);
}

/** The one-line refusal, naming `what` (`body`, `message`). */
export function tooDeepMessage(what: string, max: number = MAX_JSON_DEPTH): string {
  return `${what}: nested deeper than ${max} levels`;
}
