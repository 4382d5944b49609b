/** A real AgentDaemon as the daemon tests start it: host-1, fast retries, its lines in `log`. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { type Logger, memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";

/**
 * host-1 as the daemon tests set it up under `dir`: release 1.0.0 of APP (a local source at
 * releases/1.0.0) installed by one run into app/, state and backups under state/, the agent
 * token in token, hub.url `hubUrl`. The config it was installed with.
 */
export async function installedHost(dir: string, hubUrl: string): Promise<AgentConfig> {
  const v1 = join(dir, "releases", "1.0.0");
  await writeRelease(v1, { version: "1.0.0" });
  await mkdir(join(dir, "app"), { recursive: true });
  await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
  const config = AgentConfig.parse({
    general: {
      state_file: join(dir, "state", "ship-state.json"),
      backup_dir: join(dir, "state", "backups"),
      work_dir: join(dir, "work"),
    },
    sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: v1 } },
    hub: { url: hubUrl, token_file: join(dir, "token"), agent_id: "host-1" },
  });
  expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);
  return config;
}

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
