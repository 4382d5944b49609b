import type { HubConfig } from "./schema.js";

/** The agent's "still working" progress message while it runs an instruction (agent-daemon.ts). */
const AGENT_SIGN_OF_LIFE_SECONDS = 30;
/** The agent's longest wait between reconnects (hub-connection.ts reconnectMaxMs). */
const AGENT_LONGEST_RECONNECT_SECONDS = 60;

type Timings = Pick<
  HubConfig,
  "ping_interval_seconds" | "offline_timeout_seconds" | "progress_timeout_seconds"
>;

/**
 * hub.toml timing keys inside their range but below what they must exceed to judge a healthy fleet
 * healthy: warned of at start (one line per key), not refused, since tests shorten them on purpose.
 * The range (schema.ts) bounds what a timer can do at all; this says what the fleet's own clocks need.
 */
export function timingWarnings(config: Timings, file: string): string[] {
  const warnings: string[] = [];
  const progress = config.progress_timeout_seconds;
  if (progress < 2 * AGENT_SIGN_OF_LIFE_SECONDS)
    warnings.push(
      `${file} progress_timeout_seconds = ${progress} is under ${2 * AGENT_SIGN_OF_LIFE_SECONDS} s, twice the agent's ${AGENT_SIGN_OF_LIFE_SECONDS} s "still working" signal: an update step that runs longer (a download, a migration) is timed out as stalled`,
    );
  const ping = config.ping_interval_seconds;
  if (ping < 1)
    warnings.push(
      `${file} ping_interval_seconds = ${ping} is under 1 s: every agent is pinged more than once a second, and one that pauses longer (GC, a loaded host, a slow link) is dropped`,
    );
  const offline = config.offline_timeout_seconds;
  if (offline < AGENT_LONGEST_RECONNECT_SECONDS)
    warnings.push(
      `${file} offline_timeout_seconds = ${offline} is under ${AGENT_LONGEST_RECONNECT_SECONDS} s, the agent's longest wait between reconnects: an agent away for a hub restart or a network blip counts as failed`,
    );
  return warnings;
}
