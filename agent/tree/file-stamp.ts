/**
 * A file's stat stamp and git's "racy" rule, shared by every cache that trusts a stat instead of
 * reading the file (the stat index of a release directory, the parsed install index, a local
 * archive's hash). Any write moves one of the stamp's fields (ctime even when size and mtime are put
 * back: no system call sets ctime). A file changed within RACY_MS of the moment it was read may
 * change again without its timestamps moving (coarse timestamp granularity), so such a read is
 * never trusted later.
 */
import type { Stats } from "node:fs";

/** Covers the coarsest common timestamp granularity (FAT: 2 s); everything finer is inside it. */
export const RACY_MS = 2000;

/** What must stay equal for something learnt from a file to still count: "dev\tino\tsize\tmtimeMs\tctimeMs". */
export type FileStamp = string;

export function stampOf(st: Pick<Stats, "dev" | "ino" | "size" | "mtimeMs" | "ctimeMs">): FileStamp {
  return `${st.dev}\t${st.ino}\t${st.size}\t${st.mtimeMs}\t${st.ctimeMs}`;
}

/** Whether a file with this stat, read at `readAtMs`, was changed too recently to trust later. */
export function isRacy(st: Pick<Stats, "mtimeMs" | "ctimeMs">, readAtMs: number): boolean {
  return Math.max(st.mtimeMs, st.ctimeMs) >= readAtMs - RACY_MS;
}
