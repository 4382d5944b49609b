/**
 * ship's copy of a merged config as a release shipped it (`<state>/base/<sha256>`) is named by its
 * sha256, and only ship writes it. One edited or cut short since (by hand, a full disk, a restore of
 * the state directory from elsewhere) was read as the previous release's copy: the three-way merge
 * then took a value the operator never set for theirs, or a default the release changed for one they
 * had kept, without a word. Such a copy is not used: the merge goes as if it were gone, and says so.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";

/**
 * True when the file at `path` is there but its bytes are not the ones its name records. A file
 * that cannot be read is left to the reader, which names what is wrong with it.
 */
export function baseNotAsNamed(path: string, sha256: string): boolean {
  let bytes: Buffer;
  try {
    // Never opened unless a regular file: a FIFO in its place would block the read for ever.
    if (!lstatSync(path).isFile()) return false;
    bytes = readFileSync(path);
  } catch {
    return false;
  }
  return createHash("sha256").update(bytes).digest("hex") !== sha256;
}
