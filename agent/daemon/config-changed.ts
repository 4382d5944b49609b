/**
 * Whether ship.toml was edited since `ship agent` read it. The daemon reads its config once, at
 * start, and runs for weeks: an operator who set `enabled = false` to hold an app back, or moved
 * its `app_dir`, saw the next hub release carried out with the old config (installed anyway, or
 * into the old directory). Returns a check: true once the file's bytes differ from those at start
 * and the new file passes what a start checks. One that does not (a typo, an edit half saved, a
 * token_file that is not there) is said once, and the agent goes on with what it has: a restart
 * would only stop it (exit 2) until someone looks.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { placedMessage } from "../../shared/config/key-positions.js";
import { loadConfigFile } from "../../shared/config/load.js";

const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Read before the config is parsed: an edit in between then reads as a change, never as none. */
export async function configChangeCheck(
  file: string,
  warn: (message: string) => void,
  /** What a start would make of the file: throws what would stop it (daemon-config.ts). */
  usable: (file: string) => Promise<unknown> = loadConfigFile,
): Promise<() => Promise<boolean>> {
  const atStart = await readFile(file).then(digest, () => undefined);
  let refused: string | undefined;
  return async () => {
    // A file that cannot be read now is left to the next start to report: this agent goes on with
    // the config it has rather than stop on a passing permission.
    const now = await readFile(file).then(digest, () => undefined);
    if (atStart === undefined || now === undefined || now === atStart) return false;
    try {
      await usable(file);
      return true;
    } catch (error) {
      if (refused !== now)
        warn(
          `${file} changed but cannot be used: ${placedMessage(error)}; going on with the config read at start`,
        );
      refused = now;
      return false;
    }
  };
}
