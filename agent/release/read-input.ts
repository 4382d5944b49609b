import { companionText } from "../../shared/companion-text.js";
import { VerificationError } from "../../shared/errors.js";
import { manifestText } from "../../shared/manifest/load.js";
import { readNamedFile, readNamedText } from "../../shared/named-file.js";
import { parseSignature, SignatureError } from "../../shared/signing/signature.js";

/** A file named on the command line; unreadable is bad input (exit 2) naming the flag and file, not an internal error. */
export function readInputFile(
  path: string,
  flag: string,
  options: { nonEmpty?: boolean } = {},
): Promise<string> {
  return readNamedText(path, { file: flag, key: "" }, options);
}

/**
 * A manifest named by `--manifest` (sign, publish): refused as `ship --test-manifest` refuses it
 * when it is binary or not UTF-8. Read as UTF-8 regardless, a Latin-1 byte was signed (and sent to
 * the hub) rewritten to U+FFFD, a manifest the author never wrote.
 */
export async function readManifestInput(path: string, flag: string): Promise<string> {
  return manifestText(await readNamedFile(path, { file: flag, key: "" }), path);
}

/**
 * A `.sig` named by `--signature` (publish), read as an agent reads one beside an archive: a
 * UTF-16 copy (PowerShell's `>` on a Windows build machine) is the text it holds, not NULs.
 */
export async function readSignatureInput(path: string, flag: string): Promise<string> {
  const text = companionText(await readNamedFile(path, { file: flag, key: "" }, { nonEmpty: true }));
  // Checked as it is read, naming the flag and file, before any request or warning: it was said
  // later as "signature: malformed: …", which named neither.
  try {
    parseSignature(text);
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    throw new VerificationError(`${flag} ${path}`, e.message.replace(/^signature: /, ""));
  }
  return text;
}
