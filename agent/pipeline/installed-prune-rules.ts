/**
 * `directories.*.cleanup_old` is a standing order ("keep logs/ to 30 days"), not something an update
 * does once: the rules of the installed release are remembered in the app's state directory, and a
 * run that installs nothing (up to date, skipped, waiting for a person or a rollout stage) prunes by
 * them too. A release installed before ship remembered them prunes from its next update on.
 */

import { join } from "node:path";
import * as z from "zod";
import type { Logger } from "../../shared/log.js";
import { DirectoryRule, type Manifest } from "../../shared/manifest/schema.js";
import { readInstallIndexHeader } from "../apply/install-index.js";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../state/state-file.js";
import { pruneOldFiles } from "./cleanup-files.js";

const FILE = "cleanup-old.json";

const PruneRules = z.object({
  version: z.string(),
  directories: z.record(z.string(), DirectoryRule),
});

/**
 * Called once a release is installed: its cleanup_old directories become the standing rules.
 * Atomic, not fsynced: a power cut can only cost the newest rules until the next install (a run that
 * installs nothing then prunes by the previous release's rules, or by none).
 */
export async function rememberPruneRules(stateDir: string, manifest: Manifest): Promise<void> {
  const directories = Object.fromEntries(
    Object.entries(manifest.directories).filter(
      ([, rule]) => rule.cleanup_old && rule.keep_days !== undefined,
    ),
  );
  await writeFileAtomic(
    join(stateDir, FILE),
    `${JSON.stringify({ version: manifest.version, directories }, null, 2)}\n`,
    0o640,
    false,
  );
}

/** Prunes by the installed release's rules; never fails the run (a problem is logged). */
export async function pruneByInstalledRules(
  appDir: string,
  stateDir: string,
  now: Date,
  log: Logger,
): Promise<void> {
  let text: string;
  try {
    text = await readRecordText(join(stateDir, FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    log.warn("could not read the installed release's cleanup_old rules", { error: String(error) });
    return;
  }
  try {
    const rules = PruneRules.parse(JSON.parse(text));
    // Rules remembered for another version than the one on disk (a rollback undid the release
    // they came with) are not the installed release's: 2.0.0's `keep_days: 1` went on deleting
    // reports/ after the operator rolled back to 1.0.0, which prunes nothing there.
    const installed = (await readInstallIndexHeader(stateDir))?.version;
    if (installed !== rules.version) {
      log.info("cleanup_old: not pruning by the rules of a release that is no longer installed", {
        rulesOf: rules.version,
        installed: installed ?? null,
      });
      return;
    }
    await pruneOldFiles(appDir, rules, now, log, stateDir);
  } catch (error) {
    log.warn("cleanup_old pruning failed", { error: String(error) });
  }
}
