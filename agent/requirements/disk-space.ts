import { statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { RequirementResult } from "./check.js";

const NAME = "min_disk_space_mb";
const MB = 1024 * 1024;

/**
 * Free space (for unprivileged users, as ship runs) on the filesystem of appDir, or of its
 * nearest existing parent when the app is not installed yet. 1 MB = 1,048,576 bytes.
 */
export async function checkDiskSpace(appDir: string, minMb: number): Promise<RequirementResult> {
  let dir = resolve(appDir);
  for (;;) {
    try {
      const fs = await statfs(dir);
      const freeMb = Math.floor((Number(fs.bavail) * Number(fs.bsize)) / MB);
      const ok = freeMb >= minMb;
      return { name: NAME, ok, detail: `${freeMb} MB free on ${dir}${ok ? "" : `, need ${minMb} MB`}` };
    } catch (error) {
      const parent = dirname(dir);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === dir) {
        return {
          name: NAME,
          ok: false,
          detail: `cannot read free space of ${dir}: ${fsErrorText(error)}`,
        };
      }
      dir = parent;
    }
  }
}
