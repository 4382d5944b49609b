import { randomUUID } from "node:crypto";
import type { Agent as HttpAgent } from "node:http";
import { WebSocket } from "ws";
import { everyAfterInput, type JudgingTimer, onceAfterInput } from "../../shared/after-input.js";
import { errorMessage } from "../../shared/errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../shared/json-depth.js";
import type { Logger } from "../../shared/log.js";
import {
  AGENT_CHANNEL_PATH,
  AGENT_INSTANCE_HEADER,
  type AgentMessage,
  type Hello,
  HubMessage,
} from "../../shared/protocol/messages.js";
import { parseOneLine } from "../../shared/schema/one-line.js";
import { redactUrl } from "../download/redact.js";
import { reconnectDelay } from "./backoff.js";
import { answerText, connectErrorText, HANDSHAKE_TIMED_OUT, isRefusal } from "./connect-failure.js";

export interface RefusedTokenHandler {
  /** The token to present next after the hub refused the one in use; undefined: there is no other. */
  refused(presented: string): Promise<string | undefined>;
  /** What the operator does to give the agent a token the hub takes. */
  advice(): string;
  /** Calls `changed` when a replacement may have been written, until `unwatch`. */
  watch(changed: () => void): void;
  unwatch(): void;
}

export interface HubConnectionOptions {
  /** `[hub] url` from ship.toml: http(s)://host:port[/prefix]. */
  hubUrl: string;
  token: string;
  /** Built fresh on every (re)connect so the hub learns the apps' current state. */
  hello: () => Promise<Hello> | Hello;
  onMessage: (message: HubMessage) => Promise<void> | void;
  /** Called after hello is sent, e.g. to flush the report outbox. */
  onConnected?: () => Promise<void> | void;
  /** What the agent does when the hub refuses its token (401, 403): re-read it, say how to fix it. */
  refusedToken?: RefusedTokenHandler;
  /** Called when the hub closed the channel on a message larger than it takes (1009). */
  onMessageTooBig?: () => void;
  log: Logger;
  ca?: string;
  /** Opens the connection through the environment's proxy (hub-proxy-agent.ts); none: directly. */
  agent?: HttpAgent | undefined;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** A hub that answers no ping for this long is dead: drop the socket and reconnect. */
  pingIntervalMs?: number;
  /** This agent process, sent at every upgrade (default: one random id per process). */
  instanceId?: string;
}

const PROCESS_INSTANCE = randomUUID();

/** Failed connects in a row said at INFO (a hub restart); those after are WARNING. */
const QUIET_FAILURES = 4;

/** How long a stop waits for the hub to answer the close before dropping the connection. */
const STOP_GRACE_MS = 2000;

/**
 * The most this agent takes in one message from the hub. The largest instruction is a deploy: a
 * manifest copy the hub caps at 64 KiB (JSON escapes at most double it: newlines, quotes), its
 * source, signature and ids; ws's default (100 MiB) let a hub, or whoever answers in its place, make
 * the agent hold that much per message.
 */
export const MAX_HUB_MESSAGE_BYTES = 512 * 1024;
/** ws's error code for a frame or message past maxPayload (the socket is closed with 1009). */
const TOO_LARGE_CODE = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";

/** WebSocket's close code for a message larger than the peer takes (the hub's max_message_kb). */
const MESSAGE_TOO_BIG = 1009;
/** The hub's close code for a session another connection of the same agent id replaced. */
const REPLACED_CODE = 4000;
/** Backoff attempt a replaced session reconnects at: seconds, not the half second after a clean close. */
const REPLACED_BACKOFF_ATTEMPT = 5;
/** Backoff attempt whose delay is the longest, `reconnectMaxMs`, whatever the base. */
const LONGEST_BACKOFF_ATTEMPT = 30;

/** The agent's side of `/api/v1/agent`: connect, announce, keep alive, reconnect forever. */
/** An upgrade answered with a status: its fields for the log, and the level it is said at. */
interface RefusedAnswer {
  data: { status: number | undefined; reason?: string | string[] };
  level: "error" | "warn";
}

export class HubConnection {
  private socket: WebSocket | undefined;
  private stopped = false;
  private attempt = 0;
  private replacements = 0;
  /** Why the last hello could not be built: said once, not at every reconnect. */
  private helloProblem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: JudgingTimer | undefined;

  private readonly options: HubConnectionOptions;

  constructor(options: HubConnectionOptions) {
    // A copy: setToken changes the token without touching the caller's object.
    this.options = { ...options };
  }

  static channelUrl(hubUrl: string): string {
    const url = new URL(hubUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = `${url.pathname.replace(/\/+$/, "")}${AGENT_CHANNEL_PATH}`;
    return url.toString();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /**
   * Closes the channel. A hub that does not answer the close (a network cut, a frozen host) is not
   * waited for: ws waits 30 s for its answer, so `systemctl stop ship-agent` hung that long, idle.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.options.refusedToken?.unwatch();
    this.pingTimer?.stop();
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((closed) => {
      const cut = setTimeout(() => socket.terminate(), STOP_GRACE_MS);
      socket.once("close", () => {
        clearTimeout(cut);
        closed();
      });
      socket.close(1001, "agent stopping");
    });
  }

  /** The CA (PEM) the next connection trusts for the hub's certificate: `[hub] ca_file`. */
  setCa(ca: string): void {
    this.options.ca = ca;
  }

  /** The token the next connection (and reconnection) presents. */
  setToken(token: string): void {
    this.options.token = token;
  }

  /** Sends when connected; returns false otherwise (reports stay in the outbox until acked). */
  send(message: AgentMessage): boolean {
    if (!this.connected || this.socket === undefined) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Sends a fresh hello (e.g. on `check_now`), so the hub re-reads versions and re-delivers. */
  async announce(): Promise<boolean> {
    return this.send(await this.options.hello());
  }

  /** As long as a silent open channel is given: the ping interval. */
  private handshakeTimeoutMs(): number {
    return this.options.pingIntervalMs ?? 30_000;
  }

  private connect(): void {
    const { log } = this.options;
    const url = HubConnection.channelUrl(this.options.hubUrl);
    // The token travels in the upgrade's Authorization header, never in the URL (it would be logged).
    const socket = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${this.options.token}`,
        [AGENT_INSTANCE_HEADER]: this.options.instanceId ?? PROCESS_INSTANCE,
      },
      maxPayload: MAX_HUB_MESSAGE_BYTES,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      ...(this.options.agent === undefined ? {} : { agent: this.options.agent }),
    });
    this.socket = socket;
    const presented = this.options.token;
    let alive = true;
    // Why this socket ended, for the reconnect line: a hub that is down, a wrong port or host, or a
    // certificate the agent does not trust all looked alike ("closed; reconnecting") at info level.
    let failure: string | undefined;
    /** The hub's answer instead of the channel, said on the reconnect line (one line per attempt). */
    let answer: RefusedAnswer | undefined;
    let tokenRefused = false;
    let tooLarge = false;
    // The ping watch starts once the channel is open: a hub (or a proxy, a load balancer) that
    // takes the connection and never answers held the agent in the handshake for ever. Not ws's
    // handshakeTimeout: its timer judged before reading, so a hub's answer that came in time while
    // this agent was stalled past the timeout was thrown away with the connection.
    const handshakeMs = this.handshakeTimeoutMs();
    const handshake = onceAfterInput(handshakeMs, () => {
      if (socket.readyState !== WebSocket.CONNECTING) return;
      failure ??= connectErrorText(new Error(HANDSHAKE_TIMED_OUT), handshakeMs);
      socket.terminate();
    });

    socket.on("open", async () => {
      handshake.stop();
      log.info("connected to hub", { url: redactUrl(url) });
      alive = true;
      this.pingTimer?.stop();
      // Judged after the input that arrived: after this agent stalled past an interval (a long
      // synchronous step of an update, a loaded host), the pong that came in time is read first.
      this.pingTimer = everyAfterInput(this.options.pingIntervalMs ?? 30_000, () => {
        if (!alive) {
          log.warn("hub stopped answering pings; reconnecting");
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      });
      let hello: Hello;
      try {
        hello = await this.options.hello();
      } catch (error) {
        // What it announces could not be read (the state file damaged while the agent runs): the
        // channel stayed open unannounced until the hub's hello timeout closed it, then again, each
        // time an ERROR "could not announce to the hub" with "BadInputError: …", and the reconnect
        // at once (the open had reset the backoff). Said once, closed, retried with backoff.
        const problem = errorMessage(error);
        if (problem !== this.helloProblem) log.error(`cannot announce this agent to the hub: ${problem}`);
        this.helloProblem = problem;
        failure = "this agent could not announce itself (see the ERROR above)";
        socket.close(1011, "agent cannot announce itself");
        return;
      }
      if (this.helloProblem !== undefined)
        log.info("announced to the hub again: what stopped it is fixed", { was: this.helloProblem });
      this.helloProblem = undefined;
      this.attempt = 0;
      try {
        socket.send(JSON.stringify(hello));
        await this.options.onConnected?.();
      } catch (error) {
        log.error("could not announce to the hub", { error: errorMessage(error) });
      }
    });
    socket.on("pong", () => {
      alive = true;
    });
    socket.on("ping", () => {
      alive = true;
    });
    socket.on("message", async (data) => {
      alive = true;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      // Before JSON.parse, which holds the event loop for seconds over a deeply nested message
      // (shared/json-depth.ts): a hub, or whoever stands in for it, must not stall the agent so.
      if (nestsDeeperThan(bytes)) {
        log.warn(`hub sent a message nested deeper than ${MAX_JSON_DEPTH} levels; ignored`);
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString());
      } catch {
        log.warn("hub sent a message that is not JSON; ignored");
        return;
      }
      const parsed = parseOneLine(HubMessage, json, "message");
      if (!parsed.ok) {
        log.warn("hub sent a message that does not match the protocol; ignored", {
          problem: parsed.message.slice(0, 2000),
        });
        return;
      }
      try {
        await this.options.onMessage(parsed.value);
      } catch (error) {
        log.error("handling a hub message failed", { type: parsed.value.type, error: String(error) });
      }
    });
    socket.on("unexpected-response", (_req, res) => {
      const reason = res.headers["x-ship-refused"];
      // "refused" at ERROR sent operators after the token when the hub's database was down (503).
      // Said on the reconnect line only: a line here too made two per attempt.
      answer = {
        data: { status: res.statusCode, ...(reason ? { reason } : {}) },
        level: isRefusal(res.statusCode) || (res.statusCode ?? 0) < 500 ? "error" : "warn",
      };
      // 403 is a token of another role (an operator's pasted in): as much the token file's fault.
      tokenRefused = res.statusCode === 401 || res.statusCode === 403;
      // What the reconnect line says: terminate()'s own error ("WebSocket was closed before the
      // connection was established") read as a network fault when the hub had refused the token.
      const location = res.headers.location;
      failure = answerText(
        res.statusCode,
        reason === undefined ? undefined : String(reason),
        typeof location === "string" ? redactUrl(location) : undefined,
      );
      socket.terminate();
    });
    socket.on("error", (error) => {
      if (failure !== undefined) return;
      // Refused by this agent, not the hub: said at ERROR on the reconnect line, as a message of
      // its own the hub refused is (it read "failed: Max payload size exceeded" at INFO).
      if ((error as NodeJS.ErrnoException).code === TOO_LARGE_CODE) {
        failure = `the hub sent a message larger than this agent takes (${MAX_HUB_MESSAGE_BYTES / 1024} KiB, past what the protocol needs); refused unread`;
        tooLarge = true;
      } else failure = connectErrorText(error, this.handshakeTimeoutMs());
      log.debug("hub connection error", { error: error.message });
    });
    socket.on("close", (code: number, reason: Buffer) => {
      handshake.stop();
      this.pingTimer?.stop();
      if (this.stopped) return;
      void this.reconnectAfter(
        url,
        code,
        reason.toString("utf8"),
        failure,
        tokenRefused ? presented : undefined,
        answer,
        tooLarge,
      );
    });
  }

  private async reconnectAfter(
    url: string,
    code: number,
    said: string,
    failure: string | undefined,
    /** The token the hub refused (401, 403), if that is why. */
    refusedAt: string | undefined,
    answer?: RefusedAnswer,
    /** This agent refused a message of the hub's as too large. */
    tooLarge = false,
  ): Promise<void> {
    const { log, refusedToken } = this.options;
    // A revoked or expired token: the operator may have written a replacement since; the next
    // attempt presents it rather than the refused one until a restart.
    const tokenRefused = refusedAt !== undefined;
    const next =
      refusedAt !== undefined && refusedToken !== undefined
        ? await this.tokenAfterRefusal(refusedToken, refusedAt)
        : undefined;
    if (this.stopped) return;
    if (next !== undefined) this.options.token = next;
    // Refused again until a person acts: the agent retried every minute or so, for ever, and each
    // line said only "401: token revoked", nothing of the file or the command that fixes it. It
    // now waits the longest backoff and reconnects as soon as the token file is written.
    const waitForToken = tokenRefused && refusedToken !== undefined && next === undefined;
    // Another connection with this agent's id took over at the hub: a second host with the same
    // agent_id (a cloned /etc/machine-id). Each took the other's place at once, twice a second,
    // for ever, and both carried out the hub's instructions, logging only "hub connection
    // closed; reconnecting". Said loudly, and backed off as after failures.
    const replaced = code === REPLACED_CODE;
    // Each replacement in a row waits longer (the reconnect that opens resets `attempt`).
    this.replacements = replaced ? this.replacements + 1 : 0;
    if (replaced) this.attempt = Math.max(this.attempt, REPLACED_BACKOFF_ATTEMPT + this.replacements);
    if (waitForToken) this.attempt = Math.max(this.attempt, LONGEST_BACKOFF_ATTEMPT);
    const delay = reconnectDelay(
      this.attempt++,
      this.options.reconnectBaseMs ?? 500,
      this.options.reconnectMaxMs ?? 60_000,
    );
    const why =
      failure !== undefined
        ? `failed: ${failure}`
        : said === ""
          ? "closed"
          : `closed by the hub: ${said} (${code})`;
    const data = { inMs: delay, url: redactUrl(url), ...answer?.data };
    if (code === MESSAGE_TOO_BIG) {
      // Sent again unchanged at each reconnect, the same report closed the channel for ever, at
      // INFO and several times a second, until the hub refused the agent for connecting too often.
      log.error(
        `hub connection closed by the hub: a message of this agent was larger than the hub takes (${code}: its hub.toml max_message_kb); sending reports shortened from now on; reconnecting`,
        data,
      );
      this.options.onMessageTooBig?.();
    } else if (replaced)
      log.warn(
        `hub connection ${why}: another connection with this agent's id took over; two hosts (or two ship agents) use one agent id — a cloned /etc/machine-id? Give each its own [hub] agent_id; reconnecting`,
        data,
      );
    else if (waitForToken)
      log.error(
        `hub connection ${why}: ${refusedToken.advice()}; trying again in ${Math.ceil(delay / 1000)} s`,
        data,
      );
    // Answered with a status: a refusal (the token, the agent id) is an ERROR at once; a hub that
    // cannot take it now (5xx) a WARNING.
    else if (answer !== undefined) log[answer.level](`hub connection ${why}; reconnecting`, data);
    else if (tooLarge) log.error(`hub connection ${why}; reconnecting`, data);
    // A hub away for a restart fails a reconnect or two; one still out of reach after that (down,
    // a wrong host or port, a certificate not trusted) is said at WARNING: at INFO the agent went
    // on failing for ever without a line under `level = "WARNING"` or `journalctl -p warning`.
    else if (this.attempt > QUIET_FAILURES) log.warn(`hub connection ${why}; reconnecting`, data);
    else log.info(`hub connection ${why}; reconnecting`, data);
    this.retryTimer = setTimeout(() => {
      refusedToken?.unwatch();
      this.connect();
    }, delay);
    if (waitForToken) refusedToken.watch(() => void this.tokenFileChanged(refusedToken));
  }

  private async tokenAfterRefusal(
    refusedToken: RefusedTokenHandler,
    presented: string,
  ): Promise<string | undefined> {
    return refusedToken.refused(presented).catch((error: unknown) => {
      this.options.log.warn("could not re-read the hub token", { error: String(error) });
      return undefined;
    });
  }

  /** While waiting out a refusal: a token written to the file is tried at once. */
  private async tokenFileChanged(refusedToken: RefusedTokenHandler): Promise<void> {
    const next = await this.tokenAfterRefusal(refusedToken, this.options.token);
    if (next === undefined) return;
    this.options.token = next;
    // A connect under way (the backoff ran out meanwhile) presents it already.
    if (this.stopped || this.socket?.readyState !== WebSocket.CLOSED) return;
    refusedToken.unwatch();
    clearTimeout(this.retryTimer);
    this.options.log.info("a new token in the token file; reconnecting now");
    this.connect();
  }
}
