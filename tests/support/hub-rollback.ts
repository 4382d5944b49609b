/**
 * The daemon's handler given the hub's rollback instruction to myapp 1.0.0, as the hub sends it
 * (deployment id `<id>~rollback`, `rollback: true`): the release's source is never fetched — a
 * rollback restores this host's own backup — so it points at a closed port.
 */
import { type CarryOutResult, carryOut } from "../../agent/daemon/carry-out.js";
import type { AgentConfig } from "../../shared/config/schema.js";
import { memoryLogger } from "../../shared/log.js";

export function hubRollbackToFirst(config: AgentConfig): Promise<CarryOutResult> {
  return carryOut({
    config,
    instruction: {
      type: "deploy",
      v: 1,
      deploymentId: "d-2~rollback",
      app: "myapp",
      rollback: true,
      release: {
        id: "release-1.0.0",
        app: "myapp",
        version: "1.0.0",
        manifest: 'version: "1.0.0"\n',
        source: { type: "http", url: "http://127.0.0.1:9/none", sha256: "b".repeat(64) },
      },
    },
    hubUrl: "http://127.0.0.1:9",
    token: "unused",
    log: memoryLogger(),
    progress: () => undefined,
  });
}
