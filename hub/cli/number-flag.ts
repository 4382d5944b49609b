import { DECIMAL, notationProblem as sharedNotation } from "../../dashboard/src/number-notation.js";
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

/**
 * Why a number JavaScript would read is not taken: its notation, as the dashboard's form says it
 * (dashboard/src/number-notation.ts); the text quoted as the CLI quotes what an operator typed.
 */
export function notationProblem(text: string): string | undefined {
  return sharedNotation(text, quotedText);
}
