/**
 * Whether ship's own files were replaced under this process. `ship agent` runs for weeks, and the
 * README's upgrade (`sh install.sh ship-NEW.tgz`) replaces the package under it. The agent CLI is a
 * bundle of hash-named chunks loaded at first use, and Node looks for a module's file at every
 * import, loaded or not: after an upgrade every instruction failed "Cannot find module
 * …/bundle/merge-XXXX.js" (a report per host, a halted rollout) until someone restarted the agent.
 * Returns a check: the first file of `dir` (listed now) that is gone, or undefined.
 */
import { readdirSync } from "node:fs";
import { readdir } from "node:fs/promises";

export function ownCodeCheck(dir: string): () => Promise<string | undefined> {
  // The modules only: timer runs write their V8 code caches beside them (`*.v8cache`, through a
  // `*.tmp` renamed into place), which come and go without any upgrade.
  const files = readdirSync(dir).filter((file) => /\.c?js$/.test(file));
  return async () => {
    const now = new Set(await readdir(dir).catch(() => []));
    return files.find((file) => !now.has(file));
  };
}
