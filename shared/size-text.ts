/**
 * A size for a limit ship sets itself, in whole units where it is one and with the exact bytes
 * beside it ("64 KiB (65536 bytes)"), so every refusal by size reads alike; bytes below 1 KiB.
 */
export function sizeText(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(2)} ${unit} (${bytes} bytes)`;
    }
  }
  return `${bytes} bytes`;
}
