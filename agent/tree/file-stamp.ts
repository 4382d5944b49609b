/**
 * A file's stat stamp, shared by every cache that trusts a stat instead of reading the file (the
 * stat index of a release directory, the parsed install index, a local archive's hash). Any write
 * moves one of the stamp's fields (ctime even when size and mtime are put back: no system call sets
 * ctime), except a change in the tick of the file's last one: racy-rule.ts says when a stamp counts.
 */
import type { Stats } from "node:fs";

// Where importers of the stamp have long found the rule's window and test; defined in racy-rule.ts.
export { isRacy, RACY_MS } from "./racy-rule.js";

/** What must stay equal for something learnt from a file to still count: "dev\tino\tsize\tmtimeMs\tctimeMs". */
export type FileStamp = string;

export function stampOf(st: Pick<Stats, "dev" | "ino" | "size" | "mtimeMs" | "ctimeMs">): FileStamp {
  return `${st.dev}\t${st.ino}\t${st.size}\t${st.mtimeMs}\t${st.ctimeMs}`;
}
