/** A real AgentDaemon as the daemon tests start it: host-1, fast retries, its lines in `log`. */
import { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import type { AgentConfig } from "../../../shared/config/schema.js";
import type { Logger } from "../../../shared/log.js";

export async function startTestDaemon(config: AgentConfig, log: Logger): Promise<AgentDaemon> {
  const daemon = new AgentDaemon({
    config,
    agentId: "host-1",
    token: "agent-token-for-host-1",
    log,
    delayScale: 0,
    retryDelayMs: 0,
    reconnectBaseMs: 50,
    retryLaterMs: 100,
  });
  await daemon.start();
  return daemon;
}
