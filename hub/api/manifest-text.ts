/**
 * A published manifest is YAML text. A binary file sent as one (a release archive, a UTF-16 file
 * decoded as UTF-8) answered one YAML error per token, or a "must be a mapping (got string …)"
 * quoting a kilobyte of its bytes; NULs and other control characters inside a scalar were stored
 * and sent to the fleet. YAML allows neither, so the hub refuses them in one line naming where,
 * and says what the text looks like: every refusal asked "a binary file, or one saved as UTF-16 or
 * Latin-1?", a manifest of text with one bell in a description included.
 */
import { binaryControl, binaryKind, UNKNOWN_BINARY } from "../../shared/utf8-text.js";

/** What YAML 1.2 calls printable (c-printable), U+FFFD aside: it is refused with its own reason. */
const NOT_PRINTABLE = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffc\u{10000}-\u{10ffff}]/gu;

/**
 * More control characters no text holds (`binaryControl`) than a slip of the keyboard leaves: no
 * text. Those text does hold (a pasted terminal colour's ESC, a form feed) are YAML's to refuse
 * but no sign of a binary file: four ESCs of two coloured words were called "(a binary file?)".
 */
const STRAY_MAX = 3;

/** Undefined for text YAML may hold; else why it is not text, with line:column of the first offender. */
export function manifestNotText(text: string): string | undefined {
  const offenders = [...text.matchAll(NOT_PRINTABLE)];
  const [found] = offenders;
  if (found === undefined) return undefined;
  const send = "send update-manifest.yaml's UTF-8 text";
  // A known format (a gzip file, a PNG) is named as what it is, as the agent names it.
  const kind = binaryKind(Buffer.from(text, "utf8"));
  if (kind !== undefined && kind !== UNKNOWN_BINARY) return `is not text: it is ${kind}; ${send}`;
  const before = text.slice(0, found.index);
  const where = `${before.split("\n").length}:${found.index - before.lastIndexOf("\n")}`;
  const char = found[0];
  const nuls = offenders.filter((o) => o[0] === "\0");
  // UTF-16 decoded as UTF-8: a NUL beside each ASCII character, all on one parity.
  const utf16 =
    nuls.length * 3 >= text.length / 2 &&
    (nuls.every((o) => o.index % 2 === 0) || nuls.every((o) => o.index % 2 === 1));
  const what =
    char === "\0"
      ? "a NUL byte"
      : char === "\ufffd"
        ? "U+FFFD, what bytes that are not UTF-8 become"
        : `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, a character YAML does not allow`;
  const controls = offenders.filter((o) => binaryControl(o[0].codePointAt(0) ?? 0)).length;
  const why = utf16
    ? "(a file saved as UTF-16?)"
    : controls > STRAY_MAX
      ? "(a binary file?)"
      : char === "\ufffd"
        ? "(a file saved as Latin-1?)"
        : "(remove it, or write it as an escape in a double-quoted string)";
  return `is not text: at ${where} it holds ${what} ${why}; ${send}`;
}
