import { readNamedText } from "../../shared/named-file.js";

/** A file named on the command line; unreadable is bad input (exit 2) naming the flag and file, not an internal error. */
export function readInputFile(
  path: string,
  flag: string,
  options: { nonEmpty?: boolean } = {},
): Promise<string> {
  return readNamedText(path, { file: flag, key: "" }, options);
}
