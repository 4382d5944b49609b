import { quotedText } from "../quoted-text.js";

/**
 * A flag's number as people write it: decimal digits with an optional fraction ("5", "2.5", ".5"),
 * blanks around it ignored; anything else is undefined, for the caller's one-line refusal naming
 * its flag. `Number()` alone read "0x10" as 16, "1e1" as 10 and "0b1" as 1: a typo or a pasted
 * value taken as another number, as SOURCE_DATE_EPOCH's "1e3" once was.
 *
 * `said`, the flag as the refusal names it: a number in another notation is refused here for what
 * it is, since the caller's range ("a number from 0 to 100") is one that 1e1, being 10, is within.
 */
export function decimalFlag(text: string, said?: string): number | undefined {
  const trimmed = text.trim();
  if (DECIMAL.test(trimmed)) return Number(trimmed);
  const problem = notationProblem(trimmed);
  if (said !== undefined && problem !== undefined) throw new RangeError(`${said}: ${problem}`);
  return undefined;
}

const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * Why a number JavaScript would read is not taken: its notation. Undefined for what is no number
 * at all, or a negative decimal, which the caller's range names better. The dashboard's form says
 * the same (dashboard/src/format.ts notationProblem; a test holds them alike).
 */
export function notationProblem(text: string): string | undefined {
  if (text === "" || !Number.isFinite(Number(text)) || DECIMAL.test(text.replace(/^-/, ""))) return undefined;
  const notation = /^[-+]?0x/i.test(text)
    ? "hexadecimal"
    : /^[-+]?0b/i.test(text)
      ? "binary"
      : /^[-+]?0o/i.test(text)
        ? "octal"
        : /e/i.test(text)
          ? "exponent notation"
          : "not plain decimal digits";
  return `${quotedText(text)} is ${notation}: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)`;
}
