/**
 * `--check-only` changes nothing on disk, so it creates none of ship's own directories: where the
 * state file's directory, the work directory (`work_dir`, else the state directory's work/) or
 * `lock_file`'s directory do not exist yet (a host that never ran ship), and per source where the
 * lock directory or the source's state directory do not (sourceScratch), the check works in a
 * temporary directory in their place and removes it afterwards.
 * Nothing can be locked, recorded or staged in a directory that does not exist, so the check sees
 * exactly what a real run would.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { AgentConfig } from "../../shared/config/schema.js";

export interface CheckScratch {
  config: AgentConfig;
  remove(): Promise<void>;
}

const missing = async (dir: string): Promise<boolean> =>
  (await stat(dir).catch(() => undefined)) === undefined;

/** A temporary directory made on first use; `remove` deletes it if it was made. */
function lazyScratch() {
  let dir: string | undefined;
  return {
    at: async (...parts: string[]): Promise<string> => {
      dir ??= await mkdtemp(join(tmpdir(), "ship-check-"));
      return join(dir, ...parts);
    },
    used: () => dir !== undefined,
    remove: async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function checkScratch(config: AgentConfig): Promise<CheckScratch> {
  const scratch = lazyScratch();
  const inScratch = scratch.at;
  const general = { ...config.general };
  if (await missing(dirname(general.state_file)))
    general.state_file = await inScratch("state", basename(general.state_file));
  // The default work directory (the state directory's work/) too: staging would create it.
  const workDir = general.work_dir ?? join(dirname(general.state_file), "work");
  if (await missing(workDir)) general.work_dir = await inScratch("work");
  if (general.lock_file !== undefined && (await missing(dirname(general.lock_file))))
    general.lock_file = await inScratch(basename(general.lock_file));
  return { config: scratch.used() ? { ...config, general } : config, remove: scratch.remove };
}

export interface SourceScratch {
  lockDir: string;
  sourceStateDir: string;
  remove(): Promise<void>;
}

/**
 * One source's directories for a check: the lock directory (locks/) and the source's state
 * directory (sources/NAME/) are used when they exist; when one does not, no run ever locked or
 * recorded anything there, and a temporary one stands in for it.
 */
export async function sourceScratch(lockDir: string, sourceStateDir: string): Promise<SourceScratch> {
  const scratch = lazyScratch();
  return {
    lockDir: (await missing(lockDir)) ? await scratch.at("locks") : lockDir,
    sourceStateDir: (await missing(sourceStateDir)) ? await scratch.at("source") : sourceStateDir,
    remove: scratch.remove,
  };
}
