/**
 * A checksum or signature file's bytes as the text they hold. Windows PowerShell 5.1 writes
 * `Get-FileHash … > SHA256SUMS` and `Out-File` as UTF-16LE with a byte-order mark (CRLF lines): a
 * release server fed from a Windows build machine serves that. Read as UTF-8 it was NULs between
 * the characters, refused as "a binary file (the release archive itself?)" for a checksum that was
 * right. UTF-16 is taken only with its byte-order mark (FF FE little-endian, FE FF big-endian, as
 * the Unicode standard marks it); the hash it holds is checked as any other.
 */
export function companionText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes);
  return bytes.toString("utf8");
}
