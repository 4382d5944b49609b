/**
 * Floats written with more than a double holds. `0.1` and `0.10000000000000001`, `1e400` and
 * `1e500`, read as the same JS number, so a release changing one to the other was no change: a new
 * default the operator never touched did not reach them, and an operator's own such value was taken
 * for the previous release's and lost to the release's next default. An app reading decimals
 * (Python's Decimal, Java's BigDecimal, serde_json's arbitrary_precision) reads them apart.
 *
 * Such a literal is read for the merge's plan as an ExactFloat, compared by its decimal value, so
 * `1.50`, `1.5` and `15e-1` stay one value, as they are for every reader. Every other float stays a
 * number: the literal says no more than the double.
 */

export class ExactFloat {
  /**
   * `decimal` is the literal's value in lowest terms (decimalOf), as no double spells it;
   * `literal` the text it was read from, which a value written anew (a TOML inline table) is.
   */
  constructor(
    readonly value: number,
    readonly decimal: string,
    readonly literal: string,
  ) {}
}

/**
 * A decimal float literal (`-1_000.50e+3`, TOML's `_` and YAML's `+` allowed) in lowest terms,
 * `-100050e-2`; undefined for anything else (inf, nan, hex).
 */
export function decimalOf(literal: string): string | undefined {
  const match = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(literal.replaceAll("_", ""));
  if (match === null) return undefined;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  if (whole === "" && fraction === "") return undefined;
  const digits = `${whole}${fraction}`.replace(/^0+/, "");
  if (digits === "") return "0";
  const trimmed = digits.replace(/0+$/, "");
  const power = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - trimmed.length);
  return `${sign === "-" ? "-" : ""}${trimmed}e${power}`;
}

/** A number's decimal value as decimalOf writes it: its shortest round-trip spelling's. */
export function numberDecimal(value: number): string {
  return Number.isFinite(value) ? (decimalOf(String(value)) ?? String(value)) : String(value);
}

/** The ExactFloat a literal reads as, when it holds more than the double `value` it parses to. */
export function exactFloat(literal: string, value: number): ExactFloat | undefined {
  const decimal = decimalOf(literal.trim());
  return decimal === undefined || decimal === numberDecimal(value)
    ? undefined
    : new ExactFloat(value, decimal, literal.trim());
}

/** Whether two values, one at least an ExactFloat, are the same decimal. */
export function sameFloat(a: unknown, b: unknown): boolean {
  const decimal = (v: unknown) =>
    v instanceof ExactFloat ? v.decimal : typeof v === "number" ? numberDecimal(v) : undefined;
  const left = decimal(a);
  return left !== undefined && left === decimal(b);
}
