/**
 * How the hub's CLI flags and the dashboard's rollout form read a number: decimal digits with an
 * optional fraction ("5", "2.5", ".5"). `Number()` alone read "0x32" as 50, "1e1" as 10 and "0b1"
 * as 1: a typo or a pasted value taken as another number. One module, so that the flag and the
 * form field refuse the same text in the same words.
 */

/** Decimal digits with an optional fraction, nothing else (no sign, no blanks). */
export const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * Why a number JavaScript would read is not taken: its notation, with `text` quoted by `quote`
 * (the CLI escapes control characters; the page's text is not a terminal). Undefined for what is no
 * number at all, or a negative decimal, which the caller's range names better.
 */
export function notationProblem(
  text: string,
  quote: (text: string) => string = JSON.stringify,
): string | undefined {
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
  return `${quote(text)} is ${notation}: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)`;
}
