/**
 * Blank GET query parameters. `?version=%20` matched nobody and `?offset=` read as 0 (`Number("")`),
 * each a 200 that looked like an answer; `?app=` on /releases was no filter at all. A blank value is
 * a 400 naming the parameter: leaving the parameter out is how a caller asks for no filter.
 * (A repeated parameter arrives as a list, which each schema already refuses as "got a list".)
 */
import * as z from "zod";
import type { ReleaseCursor } from "../store/store.js";

const BLANK = "must not be blank (leave the parameter out for no filter)";

/** `schema`, once the value is known not to be empty or whitespace only. */
export function notBlank<S extends z.ZodType>(schema: S) {
  return z
    .unknown()
    .refine((value) => !(typeof value === "string" && value.trim() === ""), BLANK)
    .pipe(schema);
}

/**
 * A filter naming an app, a version, an agent id, a host or an event subject: none holds a space,
 * so spaces at its ends are no part of it, as beside a label's `=` (`?app=%20web` answered a 200
 * listing nothing).
 */
export function queryWord(max?: number) {
  return notBlank((max === undefined ? z.string() : z.string().max(max)).transform((value) => value.trim()));
}

/** Written in decimal digits (a sign, a fraction): what is read as a number at all. */
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * A whole number in min..max, as the lists' `limit` and `offset` take it, written in decimal digits
 * as the CLI's flags and the dashboard's fields take numbers: `Number()` read `?limit=0x10` as 16,
 * `?offset=1e1` as 10 and `?limit=%201` as 1, a 200 for what no caller meant. Anything else stays
 * a string, which the number refuses ("must be a number (got string …)").
 */
export function queryCount(min: number, max?: number) {
  const count = z.number().int().min(min);
  return notBlank(
    z.preprocess(
      (value) => (typeof value === "string" && DECIMAL.test(value) ? Number(value) : value),
      max === undefined ? count : count.max(max),
    ),
  );
}

/** `true`/`false` (or 1/0). */
export function queryFlag() {
  return z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
}

/** `next` of a page: where it ended (`created.id` of its last row, newest first). */
const CURSOR = /^(\d{1,16})\.(.+)$/s;

/** `?after=`: the `next` a page of a listing gave, read back as the store's cursor. */
export function queryCursor() {
  return z
    .string()
    .max(300)
    .regex(CURSOR, "must be the `next` of the page before, as the hub gave it")
    .transform((value): ReleaseCursor => {
      const match = CURSOR.exec(value) as RegExpExecArray;
      return { created: Number(match[1]), id: match[2] ?? "" };
    });
}

/** The `next` of a page whose last row is `last`: what `queryCursor` reads back. */
export const cursorText = (last: ReleaseCursor): string => `${last.created}.${last.id}`;
