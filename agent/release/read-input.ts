import { readFile } from "node:fs/promises";
import { BadInputError } from "../../shared/errors.js";

/** A file named on the command line; unreadable is bad input (exit 2) naming it, not an internal error. */
export async function readInputFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw BadInputError.single(path, flag, `cannot read: ${(e as Error).message}`);
  }
}
