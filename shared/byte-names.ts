/**
 * Directory entry names as the bytes the kernel holds. Node gives names as UTF-8 strings by
 * default: a name that is not UTF-8 (a Latin-1 `caf\xe9.log` an old app wrote) becomes `caf\uFFFD`,
 * a string naming no file, so a walk reading names as strings cannot stat, move or keep it.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The name as text, or undefined when its bytes are not UTF-8 (no string names that file). */
export function utf8NameOrUndefined(name: Buffer): string | undefined {
  try {
    return strictUtf8.decode(name);
  } catch {
    return undefined;
  }
}

/** `\xe9` for a byte that is not printable ASCII, so a one-line message shows the name as it is. */
export function escapedName(name: Buffer): string {
  return [...name]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`))
    .join("");
}
