import type { Logger } from "../../shared/log.js";
import type { HubMessage } from "../../shared/protocol/messages.js";
import type { LiveSessions } from "../auth/live-sessions.js";
import type { TokenService } from "../auth/tokens.js";
import type { HubMetrics } from "../metrics.js";
import type { RolloutEngine } from "../rollouts/engine.js";
import type { Store } from "../store/store.js";
import type { ConnectionRefusals } from "../ws/refusals.js";

/** What the HTTP API needs from the rest of the hub. */
export interface ApiDeps {
  store: Store;
  tokens: TokenService;
  engine: RolloutEngine;
  metrics: HubMetrics;
  /** Content-addressed artifact files live here as <sha256>. */
  artifactsDir: string;
  maxArtifactBytes: number;
  isOnline: (agentId: string) => boolean;
  /** Sends a message to a connected agent; false when it is not connected. */
  send: (agentId: string, message: HubMessage) => boolean;
  /** Long-lived responses (event streams) end when their token is revoked or expires. */
  sessions: LiveSessions;
  /** Agent connections the hub refused lately (the dashboard lists them). */
  refusals?: ConnectionRefusals;
  log: Logger;
  now: () => number;
}
