/**
 * A published manifest is YAML text. A binary file sent as one (a release archive, a UTF-16 file
 * decoded as UTF-8) answered one YAML error per token, or a "must be a mapping (got string …)"
 * quoting a kilobyte of its bytes; NULs and other control characters inside a scalar were stored
 * and sent to the fleet. YAML allows neither, so the hub refuses them in one line naming where.
 */

/** What YAML 1.2 calls printable (c-printable), U+FFFD aside: it is refused with its own reason. */
const NOT_PRINTABLE = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffc\u{10000}-\u{10ffff}]/u;

/** Undefined for text YAML may hold; else why it is not text, with line:column of the first offender. */
export function manifestNotText(text: string): string | undefined {
  const found = NOT_PRINTABLE.exec(text);
  if (found === null) return undefined;
  const before = text.slice(0, found.index);
  const where = `${before.split("\n").length}:${found.index - before.lastIndexOf("\n")}`;
  const char = found[0];
  const what =
    char === "\0"
      ? "a NUL byte"
      : char === "\ufffd"
        ? "U+FFFD, what bytes that are not UTF-8 become"
        : `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, a character YAML does not allow`;
  return `is not text: at ${where} it holds ${what} (a binary file, or one saved as UTF-16 or Latin-1?); send update-manifest.yaml's UTF-8 text`;
}
