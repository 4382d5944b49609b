import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { everyAfterInput, MAX_TIMER_MS, onceAfterInput } from "../../shared/after-input.js";
import { jsonShapeProblem, MAX_MESSAGE_VALUES } from "../../shared/json-depth.js";
import type { Logger } from "../../shared/log.js";
import { withoutNul } from "../../shared/nul-character.js";
import {
  AGENT_CHANNEL_PATH,
  AGENT_INSTANCE_HEADER,
  AgentMessage,
  type HubMessage,
} from "../../shared/protocol/messages.js";
import { parseOneLine } from "../../shared/schema/one-line.js";
import { isDatabaseUnreachable, UNAVAILABLE_RETRY_SECONDS, unavailableText } from "../api/app.js";
import type { LiveSession, LiveSessions } from "../auth/live-sessions.js";
import { budgetsPer } from "../auth/minute-budget.js";
import { renewAgentToken, renewalDue, renewalDueAt } from "../auth/renewal.js";
import { bearerToken, type Principal, type TokenService } from "../auth/tokens.js";
import { monotonicNow } from "../cluster/clock.js";
import { AuthError } from "../errors.js";
import type { HubMetrics } from "../metrics.js";
import { OnceAMinuteLog } from "../once-a-minute-log.js";
import { peerAddress } from "../peer-address.js";
import type { AgentSync } from "../rollouts/agent-sync.js";
import { type ConnectionRegistry, sendTo } from "./connections.js";
import { duplicateAgentReason, REFUSED_REASON_MAX } from "./duplicate-agent.js";
import { MessageBatch, type MessageSession } from "./message-batch.js";
import { ConnectionRefusals, claimedAgent } from "./refusals.js";

export interface AgentServerOptions {
  tokens: TokenService;
  /** Closes a connection when its token is revoked or expires. */
  sessions: LiveSessions;
  registry: ConnectionRegistry;
  sync: AgentSync;
  metrics?: HubMetrics;
  log: Logger;
  pingIntervalMs: number;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  /** Reports one agent may hand in per minute, over all its connections; the rest wait in its outbox. */
  maxReportsPerMinute: number;
  /**
   * Connections (and hellos) one agent may open per minute: each connect and close writes an
   * agent.online and an agent.offline event, kept for ever, so a token looping connect, hello,
   * close filled the audit log (600 events in 11 s from one token) and pushed real ones out of
   * view. An agent reconnects a few times a minute at most (backoff from 0.5 s up). Default 30.
   */
  maxConnectsPerMinute?: number;
  /** A connection that has not said hello this long is closed (default 30 s). */
  helloTimeoutMs?: number;
  /** Refused connections, logged and kept for the dashboard (default: a fresh registry). */
  refusals?: ConnectionRefusals;
  /**
   * Cluster mode (hub/cluster/presence.ts): a refusal reason when another process of the agent
   * (the upgrade's instance header) is connected to another live hub.
   */
  presenceElsewhere?: (
    agentId: string,
    instanceHeader: string | string[] | undefined,
    /** The connecting peer's address: from the holder's own, a second agent on that host. */
    remote: string | undefined,
  ) => Promise<string | undefined>;
  now?: () => number;
  /**
   * A clock for spans of time (the minute budgets, once-a-minute lines): not the wall clock, which
   * a step moves (set back an hour, the minute under way lasted 61 and each agent's allowance with it).
   */
  elapsed?: () => number;
}

/** After a renewal that failed (the store unreachable), the next try; doubled after each failure in a row. */
const RENEW_RETRY_MS = 1_000;
/** The longest wait between two tries (less when the token would expire first). */
const RENEW_RETRY_MAX_MS = 30_000;
/** The least time between two renewals of one connection's token. */
const RENEW_MIN_GAP_MS = 100;

const STATUS_TEXT: Record<number, string> = {
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

const DEFAULT_CONNECTS_PER_MINUTE = 30;
/** Messages that do not fit the protocol, per agent and minute, answered before the socket is closed. */
const MAX_INVALID_PER_MINUTE = 5;
/** Progress messages per agent and minute: an update sends a few dozen. */
const MAX_PROGRESS_PER_MINUTE = 600;
const DEFAULT_HELLO_TIMEOUT_MS = 30_000;
/**
 * How long a connection of an agent id already connected here waits for the older connection to
 * answer a ping: one that answers is a second live process with that id, and is kept.
 */
const DUPLICATE_PROBE_MS = 2_000;

/**
 * Whether `ws` answers a ping within `ms`: a peer still there, not a socket half-open since its
 * host went away (rebooted, lost its network), which a reconnect of the same agent replaces.
 */
function answersPing(ws: WebSocket, ms: number): Promise<boolean> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (answered: boolean) => {
      timer.stop();
      ws.off("pong", onPong);
      ws.off("close", onClose);
      resolve(answered);
    };
    const onPong = () => done(true);
    const onClose = () => done(false);
    // Judged after the input already arrived: a pong that came while this hub was stalled counts.
    const timer = onceAfterInput(ms, () => done(false));
    ws.on("pong", onPong);
    ws.on("close", onClose);
    ws.ping();
  });
}

/** The most a progress message takes (its `message` is at most 4,000 characters). */
const PROGRESS_BYTES = 8 << 10;

/**
 * Refuses an upgrade with a plain HTTP response before any WebSocket handshake happens; the reason
 * goes in a header so the agent can log why (an expired token is the operator's to fix).
 */
function refuse(socket: Duplex, status: number, reason = "", retryAfterSeconds?: number): void {
  const header = reason
    ? `X-Ship-Refused: ${reason.replace(/[^\x20-\x7e]/g, "?").slice(0, REFUSED_REASON_MAX)}\r\n`
    : "";
  // A 429 or 503 says when to come back (RFC 9110): a client or proxy that honours it waits that
  // long instead of retrying into the same refusal.
  const retry = retryAfterSeconds === undefined ? "" : `Retry-After: ${retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n${header}${retry}Connection: close\r\nContent-Length: 0\r\n\r\n`,
  );
  socket.destroy();
}

/**
 * The agent channel on the API's HTTP server: authenticates in the `upgrade` handler, validates
 * every message with the shared protocol schemas, and terminates peers that stop answering pings.
 */
export function attachAgentServer(server: Server, options: AgentServerOptions) {
  const { log, registry } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const alive = new WeakMap<WebSocket, boolean>();
  const batch = new MessageBatch(options.sync, log);
  const now = options.now ?? Date.now;
  const elapsed = options.elapsed ?? monotonicNow;
  const refusals = options.refusals ?? new ConnectionRefusals(log, now, elapsed);
  const principals = new WeakMap<WebSocket, Principal>();
  const sessions = new WeakMap<WebSocket, LiveSession>();
  const renewing = new WeakSet<WebSocket>();
  const renewTimers = new WeakMap<WebSocket, NodeJS.Timeout>();
  /**
   * Renewals that failed in a row on a connection, and when the next try is due: on the monotonic
   * clock, as a wait is; on the wall clock a step back of an hour held every renewal off for it.
   */
  const renewFailures = new WeakMap<WebSocket, { count: number; retryAt: number }>();
  // An outage fails every connection's renewal and every connecting agent's token check: each said
  // once a minute with a count, not once per agent and attempt.
  const renewalErrors = new OnceAMinuteLog(log, "could not renew an agent token", elapsed);
  const checkErrors = new OnceAMinuteLog(log, "could not check an agent's token", elapsed);
  const presenceErrors = new OnceAMinuteLog(log, "could not check where an agent is connected", elapsed);
  // Per agent, not per connection: a reconnect (cheap for whoever holds the token) must not bring
  // a fresh allowance.
  const reportBudgetOf = budgetsPer(options.maxReportsPerMinute, elapsed);
  // Likewise connections and hellos (each writes the agent's row, and a connect and close two
  // audit events), and messages that do not fit the protocol.
  const maxConnects = options.maxConnectsPerMinute ?? DEFAULT_CONNECTS_PER_MINUTE;
  const connectBudgetOf = budgetsPer(maxConnects, elapsed);
  const invalidBudgetOf = budgetsPer(MAX_INVALID_PER_MINUTE, elapsed);
  const progressBudgetOf = budgetsPer(MAX_PROGRESS_PER_MINUTE, elapsed);
  const helloTimeoutMs = options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
  /** Where each connection came from and the host its hello named: said when a duplicate is refused. */
  const origins = new WeakMap<WebSocket, { remote: string; hostname?: string }>();
  // The budgets above are taken after a message is parsed and validated, which is most of what it
  // costs: one agent token sent 950 KB reports as fast as the socket took them (2 GB a minute,
  // the hub parsing each to refuse it as past the report budget) and /healthz waited up to 160 ms;
  // 56,000 progress messages in 5 s, 240 ms. So every message also counts, before it is read,
  // against what the per-kind budgets together allow in messages and in bytes; past either the
  // rest of the minute's are dropped unread (a report is not acked and stays in the agent's outbox).
  const perMinuteMessages =
    options.maxReportsPerMinute + MAX_PROGRESS_PER_MINUTE + maxConnects + MAX_INVALID_PER_MINUTE;
  const perMinuteBytes =
    (options.maxReportsPerMinute + maxConnects + MAX_INVALID_PER_MINUTE) * options.maxPayloadBytes +
    MAX_PROGRESS_PER_MINUTE * PROGRESS_BYTES;
  const messageBudgetOf = budgetsPer(perMinuteMessages, elapsed);
  const byteBudgetOf = budgetsPer(perMinuteBytes, elapsed);

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = new URL(req.url ?? "/", "http://hub").pathname;
    if (path !== AGENT_CHANNEL_PATH) return refuse(socket, 404);
    let principal: Principal | undefined;
    const token = bearerToken(req.headers.authorization);
    const remote = peerAddress(req.socket.remoteAddress);
    const refused = (status: number, reason: string, retryAfterSeconds?: number) => {
      // A token the hub signed names its agent; one it did not only claims one (kept apart).
      const signed = token !== undefined && options.tokens.signedHere(token);
      refusals.record(claimedAgent(token), reason, remote, signed);
      refuse(socket, status, reason, retryAfterSeconds);
    };
    const notChecked = (error: unknown) => {
      if (error instanceof AuthError) return refused(401, error.message);
      // The token could not be looked up (the database is down): nothing is known against it. A 401
      // made the agent take its token for refused, listed every agent of the fleet as refused, and
      // told any client the database's address in the database client's error.
      checkErrors.record(principal?.agentId ?? claimedAgent(token), String(error));
      return refuse(
        socket,
        503,
        isDatabaseUnreachable(error)
          ? unavailableText(error)
          : "the hub could not check the token; try again",
        UNAVAILABLE_RETRY_SECONDS,
      );
    };
    try {
      if (!token) return refused(401, "no bearer token");
      principal = await options.tokens.verify(token);
    } catch (error) {
      return notChecked(error);
    }
    if (principal.role !== "agent" || !principal.agentId)
      return refused(403, `a ${principal.role} token cannot use the agent channel`);
    const connects = connectBudgetOf(principal.agentId);
    if (!connects.take())
      return refused(
        429,
        `more than ${maxConnects} connections a minute for this agent; try again later`,
        connects.secondsLeft(),
      );
    // Two hosts with one agent id (a VM cloned with its /etc/machine-id) took each other's place
    // in turn, each carrying out the hub's instructions (both installed a release, both reported on
    // one deployment). A second connection while the first still answers is refused, named on the
    // attention list; a first that does not answer (its host gone) is replaced as before.
    const current = registry.socketOf(principal.agentId);
    if (current !== undefined && (await answersPing(current, DUPLICATE_PROBE_MS))) {
      const held = origins.get(current);
      return refused(
        409,
        duplicateAgentReason({
          agentId: principal.agentId,
          heldFrom: held?.remote ?? "?",
          hostname: held?.hostname || undefined,
          by: " and answering",
          from: remote,
        }),
      );
    }
    try {
      const elsewhere = await options.presenceElsewhere?.(
        principal.agentId,
        req.headers[AGENT_INSTANCE_HEADER],
        remote,
      );
      if (elsewhere !== undefined) return refused(409, elsewhere);
    } catch (error) {
      // Once a minute with a count, as the token check: each agent reconnecting every few seconds
      // while the store refused this read wrote a line per attempt.
      presenceErrors.record(principal.agentId, String(error));
      return refuse(
        socket,
        503,
        "the hub could not check where this agent is connected; try again",
        UNAVAILABLE_RETRY_SECONDS,
      );
    }
    // The probe takes up to 2 s, and a cluster's presence check reads the store: a token revoked
    // meanwhile opened the channel, and its hello took the agent's place here (the older
    // connection closed as replaced, the hub's instructions sent to it) until the next session
    // check closed it. Checked again after the last wait, so no window is left before the upgrade.
    if (current !== undefined || options.presenceElsewhere !== undefined)
      try {
        await options.tokens.stillInForce(principal);
      } catch (error) {
        return notChecked(error);
      }
    // The peer may have gone while the token was checked against the store.
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      origins.set(ws, { remote: remote ?? "?" });
      principals.set(ws, principal);
      const session = options.sessions.open(principal, (reason) => endSession(ws, reason));
      sessions.set(ws, session);
      ws.once("close", () => session.end());
      onConnection(ws, principal.agentId as string, req.headers[AGENT_INSTANCE_HEADER]);
    });
  };

  /**
   * Wakes `renewIfDue` when the connection's token reaches half its lifetime (and not before
   * `atLeastMs`): renewal in proportion to the token's life, not only at hello and at each ping,
   * which a token shorter than two ping intervals would not survive (its agent locked out).
   */
  const scheduleRenewal = (ws: WebSocket, agentId: string, atLeastMs = 0) => {
    clearTimeout(renewTimers.get(ws));
    const principal = principals.get(ws);
    if (principal?.role !== "agent" || ws.readyState !== ws.OPEN) return;
    // Past 2^31 - 1 ms a timer fires at once: a long token's wait is taken in steps.
    const delay = Math.min(Math.max(renewalDueAt(principal) - now() + 1, atLeastMs), MAX_TIMER_MS);
    const timer = setTimeout(() => void renewIfDue(ws, agentId, true), delay);
    timer.unref();
    renewTimers.set(ws, timer);
  };

  /**
   * Sends a fresh token to an agent whose token is past half its life; then waits for the next
   * half-life. `retry`: the timer set after a failure, whose time has come (the ping loop waits for it).
   */
  const renewIfDue = async (ws: WebSocket, agentId: string, retry = false) => {
    const principal = principals.get(ws);
    // Marked at once: the ping loop must not issue a second token while this one is being stored.
    if (!principal || renewing.has(ws)) return;
    const failed = renewFailures.get(ws);
    if (failed && !retry && elapsed() < failed.retryAt) return;
    if (!renewalDue(principal, now())) return scheduleRenewal(ws, agentId);
    renewing.add(ws);
    // JWT times are whole seconds: a renewal within the same second as the token it replaces may
    // not move its half-life, and must not be re-issued in a tight loop (a lifetime of 1 s).
    let retryMs = RENEW_MIN_GAP_MS;
    try {
      const renewed = await renewAgentToken(options.tokens, principal);
      principals.set(ws, renewed.principal);
      sessions.get(ws)?.renewed(renewed.principal);
      const expires = new Date(renewed.expires).toISOString();
      send(ws, { type: "token", v: 1, token: renewed.token, expires }, agentId);
      log.info("sent an agent a renewed token", { agentId, expires });
      renewFailures.delete(ws);
    } catch (error) {
      // The token this connection runs on was revoked meanwhile: end it now, not at the next check.
      if (error instanceof AuthError) endSession(ws, error.message);
      else renewalErrors.record(agentId, String(error));
      // The store may be back in a moment: tried again soon, not in a tight loop, and less often the
      // longer it stays away, yet before the token runs out (the agent would have to reconnect).
      const count = (failed?.count ?? 0) + 1;
      const left = principal.expires - now();
      retryMs = Math.max(
        RENEW_RETRY_MS,
        Math.min(RENEW_RETRY_MS * 2 ** (count - 1), RENEW_RETRY_MAX_MS, left / 4),
      );
      renewFailures.set(ws, { count, retryAt: elapsed() + retryMs });
    } finally {
      renewing.delete(ws);
    }
    scheduleRenewal(ws, agentId, retryMs);
  };

  const send = (ws: WebSocket, message: HubMessage, agentId: string) => sendTo(ws, message, options, agentId);

  /** A revoked or expired token: say why, and drop the socket if the peer does not close it soon. */
  const endSession = (ws: WebSocket, reason: string) => {
    ws.close(4001, reason);
    setTimeout(() => ws.terminate(), 1000).unref();
  };

  function onConnection(ws: WebSocket, agentId: string, instanceHeader?: string | string[]): void {
    let greeted = false;
    // A socket that never says hello would be held (and pinged) for ever: one token could open
    // thousands. An agent says hello as soon as it is connected.
    const helloTimer = onceAfterInput(helloTimeoutMs, () => {
      if (!greeted) ws.close(1008, `no hello within ${Math.round(helloTimeoutMs / 1000)} s`);
    });
    // The presence epoch of this connection's latest hello, once committed: its close releases the
    // agent only with it, so closing a socket the agent already replaced (here or on another hub)
    // cannot mark the reconnected agent offline.
    let presence: Promise<number | undefined> = Promise.resolve(undefined);
    const reportRate = reportBudgetOf(agentId);
    const progressRate = progressBudgetOf(agentId);
    const messageRate = messageBudgetOf(agentId);
    const byteRate = byteBudgetOf(agentId);
    alive.set(ws, true);
    ws.on("pong", () => alive.set(ws, true));
    // Oversize frames (maxPayload) and protocol violations surface here; ws closes the socket itself.
    ws.on("error", (error) => log.warn("agent socket error", { agentId, error: error.message }));
    ws.on("close", () => {
      helloTimer.stop();
      clearTimeout(renewTimers.get(ws));
      if (!greeted || !registry.remove(agentId, ws)) return;
      void presence.then((epoch) => {
        if (epoch !== undefined) batch.disconnected(agentId, epoch);
      });
    });
    // The token session each message is checked against in the transaction that applies it.
    const from = (): MessageSession | undefined => {
      const session = sessions.get(ws);
      return session ? { session, sessions: options.sessions } : undefined;
    };
    ws.on("message", (data: RawData, isBinary: boolean) => {
      // Nothing is taken from a socket the hub is closing (its token was revoked or expired).
      if (ws.readyState !== ws.OPEN) return;
      alive.set(ws, true);
      if (isBinary) return ws.close(1008, "binary messages are not part of the protocol");
      let json: unknown;
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? Buffer.from(data)
          : data;
      // Both taken, so a flood of big messages also uses up the count.
      const withinCount = messageRate.take();
      const withinBytes = byteRate.take(bytes.length);
      if (!withinCount || !withinBytes) {
        if (messageRate.firstRefusal() || byteRate.firstRefusal())
          send(
            ws,
            {
              type: "error",
              v: 1,
              message: withinCount
                ? `more than ${Math.round(perMinuteBytes / 1_048_576)} MB of messages a minute; the rest of this minute's are dropped unread`
                : `more than ${perMinuteMessages} messages a minute; the rest of this minute's are dropped unread`,
            },
            agentId,
          );
        return;
      }
      // Before JSON.parse, which takes seconds over a deeply nested message (shared/json-depth.ts).
      // As for request bodies: a hello of 60,000 labels (770 KB, under max_message_kb) held the
      // hub's event loop 1.4 s in validation and was stored whole; an agent's messages have dozens.
      const problem = jsonShapeProblem(bytes, "message", MAX_MESSAGE_VALUES);
      if (problem !== undefined) return ws.close(1008, problem);
      try {
        json = JSON.parse(bytes.toString());
      } catch {
        return ws.close(1008, "message is not JSON");
      }
      // Kept, not refused: a report quoting a hook's binary output must land (see withoutNul).
      if (bytes.includes("\\u0000")) json = withoutNul(json);
      // One line naming the field, in the words of the API's 400s (never zod's raw wording).
      const parsed = parseOneLine(AgentMessage, json, "message");
      if (!parsed.ok) {
        options.metrics?.wsMessages.inc({ direction: "in", type: "invalid" });
        // Each costs the hub a validation that an agent speaking the protocol never causes; a
        // stream of them (however they reconnect) is cut off rather than answered one by one.
        if (!invalidBudgetOf(agentId).take())
          return ws.close(1008, `more than ${MAX_INVALID_PER_MINUTE} invalid messages a minute`);
        send(ws, { type: "error", v: 1, message: parsed.message.slice(0, 2000) }, agentId);
        return;
      }
      const message = parsed.value;
      options.metrics?.wsMessages.inc({ direction: "in", type: message.type });
      if (message.type === "hello") {
        if (message.agentId !== agentId)
          return ws.close(1008, "hello.agentId differs from the token's agent");
        // The connection's first hello was counted when it connected; another costs as much.
        if (greeted && !connectBudgetOf(agentId).take())
          return send(
            ws,
            { type: "error", v: 1, message: `more than ${maxConnects} hellos a minute; not taken` },
            agentId,
          );
        greeted = true;
        const origin = origins.get(ws);
        if (origin) origin.hostname = message.hostname;
        registry.add(agentId, ws)?.close(4000, "replaced by a newer connection");
        refusals.clear(agentId);
        void renewIfDue(ws, agentId);
        presence = batch.hello(agentId, message, from());
        // A hello the store did not take (the database is unreachable) leaves the agent unknown
        // as connected here: close, so it reconnects (here or to another hub) and says it again.
        void presence.then((epoch) => {
          if (epoch === undefined && ws.readyState === ws.OPEN) ws.close(1011, "hello not stored; reconnect");
          // An agent's first hello creates its row, which the check at the upgrade found missing:
          // the hello claimed the agent for this hub, so this records its process.
          if (epoch !== undefined)
            options
              .presenceElsewhere?.(agentId, instanceHeader, origin?.remote)
              .catch((error: unknown) =>
                log.warn("could not record an agent's process", { agentId, error: String(error) }),
              );
        });
      } else if (!greeted) {
        send(ws, { type: "error", v: 1, message: "send hello first" }, agentId);
      } else if (message.type === "progress") {
        // Each reads its deployment in the store; an agent sends a few dozen per update (steps, each
        // 10 % downloaded, its warnings), so past the budget they only cost the hub. Said once a
        // minute: the hub stores no progress message, and one a few seconds keeps the clock going.
        if (progressRate.take()) batch.progress(agentId, message, from());
        else if (progressRate.firstRefusal())
          send(
            ws,
            {
              type: "error",
              v: 1,
              message: `more than ${MAX_PROGRESS_PER_MINUTE} progress messages a minute; the rest of this minute's are dropped`,
            },
            agentId,
          );
      } else if (!reportRate.take()) {
        // Not acked: the report stays in the agent's outbox and is sent again on its next connect.
        send(
          ws,
          {
            type: "error",
            v: 1,
            message: `more than ${options.maxReportsPerMinute} reports a minute; not taken`,
          },
          agentId,
        );
      } else {
        // Acknowledged only once committed, so the agent's outbox keeps what the hub did not persist.
        batch.report(
          agentId,
          message,
          () => send(ws, { type: "ack", v: 1, reportId: message.reportId }, agentId),
          from(),
        );
      }
    });
  }

  // A peer that has not answered the previous ping by the next one is gone: terminated within two
  // intervals. Judged after the input that arrived: after this hub stalled past an interval, the pong
  // that came in time is read first, not found unread and the healthy agent dropped.
  const pinger = everyAfterInput(options.pingIntervalMs, () => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
      const agentId = principals.get(ws)?.agentId;
      if (agentId) void renewIfDue(ws, agentId);
    }
  });

  server.on("upgrade", onUpgrade);

  return {
    wss,
    refusals,
    /**
     * Drops every agent connection without stopping the channel: this hub lost the database long
     * enough for the cluster to release its agents, which now reconnect (here or to another hub)
     * and say hello again with a new epoch.
     */
    dropAll(reason: string): void {
      for (const ws of wss.clients) ws.close(1012, reason);
      for (const ws of wss.clients) ws.terminate();
    },
    /** Resolves once the agents' messages read so far are applied (`MessageBatch.settled`). */
    settled: () => batch.settled(),
    /**
     * Closes every agent connection (agents reconnect to the next hub) and stops pinging; resolves
     * once the batch being written has finished, so the store can close after it.
     */
    close(): Promise<void> {
      pinger.stop();
      renewalErrors.close();
      checkErrors.close();
      presenceErrors.close();
      // Nothing more is written: queued messages are dropped (reports were not acked, agents resend
      // them) and, on one hub, the hub's stop marks them offline (after a crash, the next start);
      // in a cluster the hub retires itself, or the others release them once its heartbeat stops.
      const written = batch.close();
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.close(1001, "hub shutting down");
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      return written;
    },
  };
}
