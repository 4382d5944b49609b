/** The install index a CLI run left under a config's state root, read as ship's next run reads it. */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readInstallIndex, UNVERIFIED_CTIME } from "../../agent/apply/install-index.js";

/**
 * The paths among `rels` the next run cannot trust by stat: written within the file system's tick
 * of the index's moment (the racy rule), so it hashes them, or stages them again, once.
 */
export async function unverifiedPaths(stateRoot: string, rels: readonly string[]): Promise<string[]> {
  const [app, ...more] = await readdir(join(stateRoot, "apps"));
  if (app === undefined || more.length > 0) throw new Error(`expected one app under ${stateRoot}/apps`);
  const index = await readInstallIndex(join(stateRoot, "apps", app));
  return rels.filter((rel) => index?.files.get(rel)?.ctimeMs === UNVERIFIED_CTIME);
}
