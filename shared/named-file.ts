/**
 * Reading a file the user named in a config key or a flag (a secret, a key, a token, a CA): a
 * missing, unreadable or empty file is bad input (exit 2) whose one line names where the name was
 * given and what is wrong with the file, in words — never Node's bare "ENOENT: …, open '…'".
 */
import { readUpTo, TooLargeError } from "./bounded-read.js";
import { BadInputError } from "./errors.js";
import { fsErrorText } from "./fs-errors.js";

/** Where a file's name was given: the config file (or flag/variable) and the key, e.g. hub.toml + jwt_secret_file. */
export interface NamedBy {
  file: string;
  key: string;
}

export interface NamedFileOptions {
  /** Refuse a file with nothing but whitespace in it (a secret, a token, a key). */
  nonEmpty?: boolean;
}

/** The file's bytes, or BadInputError naming `by` and the file ("cannot read F: no such file or directory (ENOENT)"). */
export async function readNamedFile(
  path: string,
  by: NamedBy,
  options: NamedFileOptions = {},
): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readUpTo(path, "one file");
  } catch (error) {
    if (error instanceof TooLargeError)
      throw BadInputError.single(by.file, by.key, `${path} ${error.message}`);
    throw BadInputError.single(by.file, by.key, `cannot read ${path}: ${fsErrorText(error)}`);
  }
  if (options.nonEmpty && data.toString("utf8").trim() === "")
    throw BadInputError.single(by.file, by.key, `${path} is empty`);
  return data;
}

/** readNamedFile as UTF-8 text. */
export async function readNamedText(
  path: string,
  by: NamedBy,
  options: NamedFileOptions = {},
): Promise<string> {
  return (await readNamedFile(path, by, options)).toString("utf8");
}
