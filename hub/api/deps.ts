import type { Logger } from "../../shared/log.js";
import type { HubMessage } from "../../shared/protocol/messages.js";
import type { LiveSessions } from "../auth/live-sessions.js";
import type { TokenService } from "../auth/tokens.js";
import type { EventStream } from "../dashboard/event-stream.js";
import type { HubMetrics } from "../metrics.js";
import type { RolloutEngine } from "../rollouts/engine.js";
import type { ShownTime } from "../shown-time.js";
import type { AsyncStore } from "../store/async-store.js";
import type { ConnectionRefusals } from "../ws/refusals.js";

/** What the HTTP API needs from the rest of the hub. */
export interface ApiDeps {
  store: AsyncStore;
  tokens: TokenService;
  engine: RolloutEngine;
  metrics: HubMetrics;
  maxArtifactBytes: number;
  isOnline: (agentId: string) => boolean;
  /**
   * Several hubs share the store: an agent whose socket is on another hub is online too, as its
   * stored presence says (`isOnline` only knows this hub's sockets).
   */
  sharedPresence?: boolean;
  /** Sends a message to a connected agent; false when it is not connected. */
  send: (agentId: string, message: HubMessage) => boolean;
  /** In a cluster: asks the hub that holds the agent's socket to send it `check_now`. */
  relayCheck?: (agentId: string) => Promise<void>;
  /** Long-lived responses (event streams) end when their token is revoked or expires. */
  sessions: LiveSessions;
  /** Agent connections the hub refused lately (the dashboard lists them). */
  refusals?: ConnectionRefusals;
  log: Logger;
  /** The hub's rollout clock: what its stamps (rollouts, agents, events, releases) are on. */
  now: () => number;
  /** A stamp of `now`'s as shown to people and clients (default: as it is). */
  shownTime?: ShownTime;
  /** The dashboards' change stream; the hub keeps it to wake it (default: one of its own). */
  eventStream?: EventStream;
}
