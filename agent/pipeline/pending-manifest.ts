/**
 * The interrupted update's manifest, kept next to its pending_update record (pending-update.ts) so
 * the recovery can send its `on_failure`. The backup keeps one too, but a kill before the backup
 * (in the pre_update hooks, say) or after a restore consumed it left none: the notification the
 * README promises for every interrupted update was silently skipped. A file of its own, mode 600,
 * not the state file (640, read by the seed's health check): notifications carry webhook secrets.
 */

import { join } from "node:path";
import { Manifest } from "../../shared/manifest/schema.js";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../state/state-file.js";
import { removeRecordFile } from "../tree/fs-ops.js";

const PENDING_MANIFEST_FILE = "pending-manifest.json";

export async function keepPendingManifest(appStateDir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(join(appStateDir, PENDING_MANIFEST_FILE), JSON.stringify(manifest), 0o600);
}

/**
 * The kept manifest when it is `version`'s (a file left by an older pending update of another
 * version is not this one's); undefined when absent or unreadable.
 */
export async function readPendingManifest(
  appStateDir: string,
  version: string,
): Promise<Manifest | undefined> {
  const text = await readRecordText(join(appStateDir, PENDING_MANIFEST_FILE)).catch(() => undefined);
  if (text === undefined) return undefined;
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = Manifest.safeParse(saved);
  return parsed.success && parsed.data.version === version ? parsed.data : undefined;
}

export async function dropPendingManifest(appStateDir: string): Promise<void> {
  await removeRecordFile(join(appStateDir, PENDING_MANIFEST_FILE));
}
