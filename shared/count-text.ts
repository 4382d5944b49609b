/**
 * A whole number with its thousands grouped by commas, as `n.toLocaleString("en-US")` writes it
 * ("20,000"). Not toLocaleString: its first call in a process loads ICU's locale data, ~20-30 ms of
 * CPU, and a module that formatted a constant with it at load made every update with a merge rule
 * pay that. Anything but a safe integer is left to toLocaleString (no caller passes one).
 */
export function countText(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString("en-US");
  const digits = `${Math.abs(n)}`;
  const head = ((digits.length - 1) % 3) + 1;
  let out = digits.slice(0, head);
  for (let at = head; at < digits.length; at += 3) out += `,${digits.slice(at, at + 3)}`;
  return n < 0 ? `-${out}` : out;
}
