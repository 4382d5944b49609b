/**
 * ship.toml and manifests are UTF-8 text. Two ways a text file is not, that an editor makes: saved
 * as UTF-16 (some Windows editors' "Unicode", with its byte-order mark) or as Latin-1 (a byte that
 * is not UTF-8 where an `é` is). Each is named so, with where the first such byte is. And one way a
 * file is no text at all (an image, an archive, a program): named as what it is (binaryKind), where
 * "save it as UTF-8" sent the operator to re-save a PNG in an editor.
 */
import { isUtf8 } from "node:buffer";

export type NotUtf8 = { utf16: true } | { utf16: false; line: number; column: number };

export function notUtf8(bytes: Buffer): NotUtf8 | undefined {
  if (startsUtf16(bytes)) return { utf16: true };
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

/** Formats by their first bytes (their "magic"), for the words naming a binary file. */
const MAGIC: readonly { bytes: readonly number[]; at?: number; what: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image" },
  { bytes: [0xff, 0xd8, 0xff], what: "a JPEG image" },
  { bytes: [0x47, 0x49, 0x46, 0x38], what: "a GIF image" },
  { bytes: [0x52, 0x49, 0x46, 0x46], what: "a RIFF file (WebP image, WAV sound?)" },
  { bytes: [0x00, 0x00, 0x01, 0x00], what: "an icon (.ico)" },
  { bytes: [0x1f, 0x8b], what: "a gzip file (.gz, .tar.gz)" },
  { bytes: [0x42, 0x5a, 0x68], what: "a bzip2 file" },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: "an xz file" },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], what: "a zstd file" },
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: "a zip file (or .jar, .docx)" },
  { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d], what: "a PDF document" },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], what: "an ELF program or library" },
  { bytes: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66], what: "an SQLite database" },
  { bytes: [0x75, 0x73, 0x74, 0x61, 0x72], at: 257, what: "a tar archive" },
];

/**
 * A control character no text file holds: text has tab, newline, vertical tab, form feed, carriage
 * return, and escape (a terminal's colours pasted with the words they coloured). One rule for
 * every guess that a text is a binary file.
 */
export function binaryControl(code: number): boolean {
  return code < 0x20 && !TEXT_CONTROLS.has(code);
}

const TEXT_CONTROLS: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);

/** binaryKind's words for a binary file of no format it knows. */
export const UNKNOWN_BINARY = "a binary file";

/** How much of a file the binary test reads: as git and grep, the start tells. */
const SNIFF_BYTES = 8000;

/**
 * What a file that is no text is ("a PNG image", "a gzip file", "a binary file"), or undefined for
 * text in any encoding, UTF-16 and Latin-1 included (those are notUtf8's to name). Binary: a known
 * format's first bytes, a NUL byte where UTF-16 text would not have one (UTF-16 without its
 * byte-order mark holds a NUL beside each ASCII character, all on even or all on odd offsets), or a
 * control character no text file holds (text has tab, newline, form feed, carriage return, escape).
 */
export function binaryKind(bytes: Uint8Array): string | undefined {
  for (const magic of MAGIC) {
    const at = magic.at ?? 0;
    if (bytes.length >= at + magic.bytes.length && magic.bytes.every((b, i) => bytes[at + i] === b))
      return magic.what;
  }
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (startsUtf16(head)) return undefined;
  let nulEven = 0;
  let nulOdd = 0;
  let control = false;
  for (let i = 0; i < head.length; i++) {
    const b = head[i] as number;
    if (b === 0) {
      if (i % 2 === 0) nulEven++;
      else nulOdd++;
    } else if (binaryControl(b)) control = true;
  }
  if (nulEven + nulOdd > 0)
    return utf16WithoutMark(head.length, nulEven, nulOdd) ? undefined : UNKNOWN_BINARY;
  return control ? UNKNOWN_BINARY : undefined;
}

function startsUtf16(bytes: Uint8Array): boolean {
  return (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
}

/** NULs on one parity only, on at least a third of those offsets: ASCII-heavy UTF-16 text. */
function utf16WithoutMark(length: number, nulEven: number, nulOdd: number): boolean {
  const half = Math.floor(length / 2);
  return (nulEven === 0 || nulOdd === 0) && Math.max(nulEven, nulOdd) * 3 >= half;
}
