import { lstat, readdir, rename, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";

/**
 * Release archives are often packed as `myapp-v1.2.3/...`. When the root holds only one directory
 * and the manifest is inside it, that directory is the release: move its children up so callers
 * always find the manifest at the root of the staging directory. Returns the name of the directory
 * it stripped, or undefined when it left the tree as it was.
 */
export async function stripSingleTopDir(root: string): Promise<string | undefined> {
  const names = await readdir(root);
  const name = names[0];
  if (names.length !== 1 || name === undefined) return undefined;
  const top = join(root, name);
  if (!(await lstat(top)).isDirectory()) return undefined;
  const manifest = await lstat(join(top, MANIFEST_FILENAME)).catch(() => undefined);
  if (manifest === undefined || !manifest.isFile()) return undefined;
  // Rename the top dir aside first: a child may carry the same name as its parent.
  const aside = join(root, `.ship-strip-${process.pid}-${Date.now()}`);
  await rename(top, aside);
  for (const child of await readdir(aside)) {
    await rename(join(aside, child), join(root, child));
  }
  await rmdir(aside);
  return name;
}
