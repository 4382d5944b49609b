/**
 * A hub's rollback instruction carried out by the daemon where only a backup can bring the version
 * back: the release's URL has nothing listening, so a download instead of the restore fails.
 */
import { carryOut } from "../../../agent/daemon/carry-out.js";
import type { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";

export function rollbackFromBackupOnly(config: AgentConfig, app: string, version: string) {
  return carryOut({
    config,
    instruction: {
      type: "deploy",
      v: 1,
      deploymentId: `d-${version}~rollback`,
      app,
      rollback: true,
      release: {
        id: `release-${version}`,
        app,
        version,
        manifest: `version: "${version}"\n`,
        source: { type: "http", url: "http://127.0.0.1:9/none", sha256: "b".repeat(64) },
      },
    },
    hubUrl: "http://127.0.0.1:9",
    token: "unused",
    log: memoryLogger(),
    progress: () => undefined,
    retryDelayMs: 0,
  });
}
