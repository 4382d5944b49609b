import { lchown, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * nobody: a user a root test run can run `ship` as, to meet permissions as an operator's non-root
 * ship does (root reads every directory whatever its mode).
 */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** Whether this test run is root, which running ship as NOBODY needs. */
export const asRoot = process.getuid?.() === 0;

/** chown -R (symlinks themselves, not what they lead to) to NOBODY. */
export async function chownToNobody(path: string): Promise<void> {
  await lchown(path, NOBODY.uid, NOBODY.gid);
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => []))
    if (entry.isDirectory()) await chownToNobody(join(path, entry.name));
    else await lchown(join(path, entry.name), NOBODY.uid, NOBODY.gid);
}
