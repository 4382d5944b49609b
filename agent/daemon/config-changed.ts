/**
 * Whether ship.toml was edited since `ship agent` read it. The daemon reads its config once, at
 * start, and runs for weeks: an operator who set `enabled = false` to hold an app back, or moved
 * its `app_dir`, saw the next hub release carried out with the old config (installed anyway, or
 * into the old directory). Returns a check: true once the file's bytes differ from those at start.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Read before the config is parsed: an edit in between then reads as a change, never as none. */
export async function configChangeCheck(file: string): Promise<() => Promise<boolean>> {
  const atStart = await readFile(file).then(digest, () => undefined);
  return async () => {
    // A file that cannot be read now is left to the next start to report: this agent goes on with
    // the config it has rather than stop on a passing permission or a half-saved edit.
    const now = await readFile(file).then(digest, () => undefined);
    return atStart !== undefined && now !== undefined && now !== atStart;
  };
}
