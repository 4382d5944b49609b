/**
 * A manifest's mistakes (an unknown key, `keep_days` without `cleanup_old`, a merge_strategies entry
 * that names no merged file, …) are WARNINGs, and a manifest is copied from release to release: said
 * at every update, the same lines taught operators to skip the one that was new. The warnings of the
 * installed release's manifest are remembered in the app's state directory once it is installed, and
 * a later manifest says only those not among them: once per change of the manifest.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../state/state-file.js";

const FILE = "manifest-warnings.json";

const Said = z.object({ warnings: z.array(z.string()) });

/** One warning as remembered: where it is and what it says. */
export function warningKey(warning: { path: string; message: string }): string {
  return `${warning.path}: ${warning.message}`;
}

/** The installed release's manifest warnings; none when not recorded or unreadable (then all are said). */
export async function saidManifestWarnings(stateDir: string): Promise<ReadonlySet<string>> {
  try {
    const parsed = Said.safeParse(JSON.parse(await readRecordText(join(stateDir, FILE))));
    return new Set(parsed.success ? parsed.data.warnings : []);
  } catch {
    return new Set();
  }
}

/** Called once a release is installed. Atomic, not fsynced: a loss only has them said once more. */
export async function rememberManifestWarnings(stateDir: string, warnings: readonly string[]): Promise<void> {
  const file = join(stateDir, FILE);
  if (warnings.length === 0) await rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ warnings }, null, 2)}\n`, 0o640, false);
}
