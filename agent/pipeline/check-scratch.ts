/**
 * `--check-only` changes nothing on disk, so it creates none of ship's own directories: where the
 * state file's directory, `work_dir` or `lock_file`'s directory do not exist yet (a host that never
 * ran ship), the check works in a temporary directory in their place and removes it afterwards.
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

export async function checkScratch(config: AgentConfig): Promise<CheckScratch> {
  let scratch: string | undefined;
  const inScratch = async (...parts: string[]): Promise<string> => {
    scratch ??= await mkdtemp(join(tmpdir(), "ship-check-"));
    return join(scratch, ...parts);
  };
  const general = { ...config.general };
  if (await missing(dirname(general.state_file)))
    general.state_file = await inScratch("state", basename(general.state_file));
  if (general.work_dir !== undefined && (await missing(general.work_dir)))
    general.work_dir = await inScratch("work");
  if (general.lock_file !== undefined && (await missing(dirname(general.lock_file))))
    general.lock_file = await inScratch(basename(general.lock_file));
  return {
    config: scratch === undefined ? config : { ...config, general },
    remove: async () => {
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    },
  };
}
