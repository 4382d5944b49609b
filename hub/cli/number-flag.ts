/**
 * A flag's number as people write it: decimal digits with an optional fraction ("5", "2.5", ".5"),
 * blanks around it ignored; anything else is undefined, for the caller's one-line refusal naming
 * its flag. `Number()` alone read "0x10" as 16, "1e1" as 10 and "0b1" as 1: a typo or a pasted
 * value taken as another number, as SOURCE_DATE_EPOCH's "1e3" once was.
 */
export function decimalFlag(text: string): number | undefined {
  const trimmed = text.trim();
  return /^(?:\d+(?:\.\d+)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : undefined;
}
