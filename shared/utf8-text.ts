/**
 * ship.toml and manifests are UTF-8 text. Two ways a text file is not, that an editor makes: saved
 * as UTF-16 (some Windows editors' "Unicode", with its byte-order mark) or as Latin-1 (a byte that
 * is not UTF-8 where an `é` is). Each is named so, with where the first such byte is.
 */
import { isUtf8 } from "node:buffer";

export type NotUtf8 = { utf16: true } | { utf16: false; line: number; column: number };

export function notUtf8(bytes: Buffer): NotUtf8 | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    return { utf16: true };
  if (isUtf8(bytes)) return undefined;
  // The first character the decoder replaced is where the first byte that is not UTF-8 stood.
  const text = bytes.toString("utf8");
  const before = text.slice(0, text.indexOf("\uFFFD")).replace(/^\uFEFF/, "");
  return { utf16: false, line: before.split("\n").length, column: before.length - before.lastIndexOf("\n") };
}

/** The words for it, as "<file>:<line>:<column> <this>": `kind` is "a TOML file" or "a manifest". */
export function notUtf8Message(found: NotUtf8, kind: string): string {
  return found.utf16
    ? `is UTF-16 text: save it as UTF-8 (${kind} is UTF-8)`
    : `holds a byte that is not UTF-8 here (a file saved as Latin-1?): save it as UTF-8 (${kind} is UTF-8)`;
}
