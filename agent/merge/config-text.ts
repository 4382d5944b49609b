/**
 * A config file's bytes as the text a merge reads. Merges work on UTF-8 text and write UTF-8 back,
 * so a file in another encoding would come out with every byte that is not UTF-8 turned into U+FFFD
 * (a Latin-1 `é` in a password lost for good), and a UTF-16 file reads as one garbled string that the
 * merge keeps whole, silently, release after release. Either is refused here as bad input, naming
 * where the first such byte is, so the operator can re-save the file before anything is written.
 * A file that is no text at all (an image, a .gz a config glob also matched) is named as what it
 * is, with the rule that took it and the way out: "save it as UTF-8" fits no PNG.
 */
import { isUtf8 } from "node:buffer";
import { BadInputError } from "../../shared/errors.js";
import { binaryKind } from "../../shared/utf8-text.js";
import { type CopyRole, copyName, lineColumnAt, parseFailure } from "./parse-error.js";

const SAVE_AS_UTF8 = "save it as UTF-8";

/** The merge rule that took a file: the manifest key that matched it and its action. */
export interface MergeRuleOf {
  rel: string;
  pattern: string;
  action: string;
}

export function decodeConfigText(
  bytes: Uint8Array,
  fileName: string,
  role: CopyRole,
  rule: MergeRuleOf,
): string {
  const binary = binaryKind(bytes);
  if (binary !== undefined) throw notText(fileName, role, binary, rule);
  if (startsWithUtf16Bom(bytes)) {
    const bom = `${hex(bytes[0])} ${hex(bytes[1])}`;
    throw parseFailure(fileName, role, `it is UTF-16 text (byte-order mark ${bom}); ${SAVE_AS_UTF8}`, {
      line: 1,
      column: 1,
    });
  }
  const bad = isUtf8(bytes) ? undefined : firstNonUtf8(bytes);
  if (bad !== undefined) {
    throw parseFailure(
      fileName,
      role,
      `byte ${hex(bytes[bad])} is not UTF-8 (a file saved in another encoding, such as Latin-1?); ${SAVE_AS_UTF8}`,
      positionOf(bytes, bad),
    );
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    // No config format allows a raw NUL; a file full of them is UTF-16 saved without its mark.
    throw parseFailure(
      fileName,
      role,
      `it holds a NUL byte, so it is not a text file (UTF-16 without a byte-order mark?); ${SAVE_AS_UTF8}`,
      lineColumnAt(text.replace(/^\uFEFF/, ""), text.startsWith("\uFEFF") ? nul - 1 : nul),
    );
  }
  return text;
}

/** A binary file under a merge rule: what it is, the rule that took it, and a rule that installs it. */
function notText(fileName: string, role: CopyRole, what: string, rule: MergeRuleOf): BadInputError {
  const pattern = JSON.stringify(rule.pattern);
  return BadInputError.single(
    fileName,
    "",
    `cannot merge: ${copyName(role)} is ${what}, not text: the ${rule.action} rule ${pattern} took it, and a merge reads config text only; give it a rule of its own above that one (${JSON.stringify(rule.rel)}: {action: replace}), or narrow ${pattern}`,
  );
}

function startsWithUtf16Bom(bytes: Uint8Array): boolean {
  const [a, b] = [bytes[0], bytes[1]];
  return (a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff);
}

/** Offset of the first byte that does not start a valid UTF-8 character (the file is known invalid). */
function firstNonUtf8(bytes: Uint8Array): number {
  let at = 0;
  while (at < bytes.length) {
    // UTF-8 is prefix-free: at most one length from 1 to 4 makes a valid character here.
    let length = 1;
    while (length <= 4 && !isUtf8(bytes.subarray(at, at + length))) length += 1;
    if (length > 4) return at;
    at += length;
  }
  return bytes.length;
}

function positionOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  // Counted as an editor shows the file: a byte-order mark is not a column.
  const before = Buffer.from(bytes.buffer, bytes.byteOffset, offset)
    .toString("utf8")
    .replace(/^\uFEFF/, "");
  return lineColumnAt(before, before.length);
}

function hex(byte: number | undefined): string {
  return `0x${(byte ?? 0).toString(16).toUpperCase().padStart(2, "0")}`;
}
