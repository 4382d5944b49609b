/**
 * Takes back the directories a first install made for its app_dir when nothing stayed installed in
 * them: only while they are empty (a hook may have written there; then all stays), innermost first,
 * up to the outermost one the run created. Failing to is not worth a word: an empty directory.
 */
import { rmdir } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";

export async function removeCreatedDirs(appDir: string, outermostCreated: string): Promise<void> {
  const top = resolve(outermostCreated);
  let at = resolve(appDir);
  // mkdir's answer is on appDir's own path: anything else is not ours to remove.
  if (relative(top, at).startsWith("..")) return;
  for (;;) {
    if ((await rmdir(at).catch(() => false)) === false) return;
    if (at === top) return;
    at = dirname(at);
  }
}
