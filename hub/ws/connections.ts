import type { WebSocket } from "ws";
import type { Logger } from "../../shared/log.js";
import type { HubMessage } from "../../shared/protocol/messages.js";
import type { HubMetrics } from "../metrics.js";
import type { AgentChannel } from "../rollouts/dispatch.js";

/**
 * Open agent connections by agent id. A send to a peer that stopped reading drops the connection
 * instead of buffering without bound; the agent's next hello re-delivers its desired state.
 */
export class ConnectionRegistry implements AgentChannel {
  private readonly sockets = new Map<string, WebSocket>();

  constructor(private readonly options: { maxBufferedBytes: number; metrics?: HubMetrics; log: Logger }) {}

  get size(): number {
    return this.sockets.size;
  }

  /** Registers a socket; returns the one it replaces (the same agent connecting twice). */
  add(agentId: string, socket: WebSocket): WebSocket | undefined {
    const previous = this.sockets.get(agentId);
    this.sockets.set(agentId, socket);
    return previous === socket ? undefined : previous;
  }

  /** Removes the entry only if it is still this socket (a replaced socket closing must not evict its successor). */
  remove(agentId: string, socket: WebSocket): boolean {
    if (this.sockets.get(agentId) !== socket) return false;
    this.sockets.delete(agentId);
    return true;
  }

  /** The socket this agent is connected by now, if any. */
  socketOf(agentId: string): WebSocket | undefined {
    return this.sockets.get(agentId);
  }

  isOnline(agentId: string): boolean {
    return this.sockets.has(agentId);
  }

  connectedAgentIds(): string[] {
    return [...this.sockets.keys()];
  }

  send(agentId: string, message: HubMessage, encoded?: string): boolean {
    const socket = this.sockets.get(agentId);
    return socket ? sendTo(socket, message, this.options, agentId, encoded) : false;
  }

  all(): IterableIterator<[string, WebSocket]> {
    return this.sockets.entries();
  }
}

export function sendTo(
  socket: WebSocket,
  message: HubMessage,
  options: { maxBufferedBytes: number; metrics?: HubMetrics; log: Logger },
  agentId = "?",
  encoded?: string,
): boolean {
  if (socket.readyState !== socket.OPEN) return false;
  if (socket.bufferedAmount > options.maxBufferedBytes) {
    options.log.warn("agent is not reading; dropping its connection", {
      agentId,
      buffered: socket.bufferedAmount,
    });
    socket.terminate();
    return false;
  }
  socket.send(encoded ?? JSON.stringify(message));
  options.metrics?.wsMessages.inc({ direction: "out", type: message.type });
  return true;
}
