/**
 * ship's own records (the install index, a backup's meta.json, inventory.json, installed.json):
 * damaged ones (a truncated write on a failing disk, a hand edit) are bad input naming the file,
 * what it is and what to do, never a bare "Unterminated string in JSON at position 100" that names
 * nothing and made `--rollback` an "internal error" and `--recover` exit 3.
 */
import type { z } from "zod";
import { BadInputError } from "../../shared/errors.js";

/** The text of record `path`, parsed as JSON and checked by `schema`; `what` says what the file is for. */
export function parseRecord<T extends z.ZodType>(
  text: string,
  path: string,
  schema: T,
  what: string,
): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damagedRecord(path, what, `it is not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const at = first === undefined || first.path.length === 0 ? "" : `${first.path.join(".")}: `;
    throw damagedRecord(path, what, `${at}${first?.message ?? "not what ship wrote"}`);
  }
  return parsed.data;
}

/** Exit 2: `<path> is damaged (<why>): <what>`, one line. */
export function damagedRecord(path: string, what: string, why: string): BadInputError {
  return BadInputError.single(path, "", `is damaged, ${why}: ${what}`);
}
