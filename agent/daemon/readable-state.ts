/**
 * The agent's own records must be readable by the user it runs as. A `ship agent` (or `ship`) run
 * once as root leaves the state file and daemon/desired.json root's, mode 600: the service (user
 * ship) then failed every start with "cannot open …: permission denied" (exit 1) and systemd
 * started it again every 5 s for ever; an unreadable state file also made the start-up recovery
 * say the app "needs a person", and an unreadable renewed token was skipped without a word. No restart fixes it: exit 2, one line naming the file and the fix.
 */
import { access, constants, stat } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { stateRoot } from "../pipeline/paths.js";

export async function checkStateReadable(
  config: AgentConfig,
  configFile: string,
  daemonDir: string,
): Promise<void> {
  const files: [file: string, key: string][] = [
    [config.general.state_file, "general.state_file"],
    [join(daemonDir, "desired.json"), "general.state_file"],
    // The token the hub renewed: unreadable, it was passed over in silence for the configured one,
    // which may have expired since.
    [join(daemonDir, "hub.token"), "general.state_file"],
  ];
  for (const [file, key] of files) {
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      const code = errnoCode(error);
      if (code !== "EACCES" && code !== "EPERM") continue; // Missing is a first start; the rest is read later.
      const owner = await stat(file).then(
        (s) => s.uid,
        () => undefined,
      );
      const user = userInfo().username;
      const by = owner === 0 ? "root owns it (left by a ship run as root?)" : `uid ${owner ?? "?"} owns it`;
      throw BadInputError.single(
        configFile,
        key,
        `${file} cannot be read by ${user}, the user this agent runs as: ${fsErrorText(error)}; ${by}: chown -R ${user}: ${stateRoot(config)}`,
      );
    }
  }
}
