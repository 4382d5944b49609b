/**
 * Connections one address holds open with no request under way (nothing sent yet, or idle between
 * keep-alive requests): they need no credential, so one client without a token held 15,000 of
 * them (a descriptor each, 110 MB, for as long as it liked to trickle bytes), and a hub under a
 * 1,024-descriptor limit refused every agent and `/healthz` after 1,000. Past the bound the
 * address's next connection is answered 429 and closed before the hub reads a byte of it. A
 * request under way (an event stream, a download, an upload) and an agent's WebSocket do not
 * count: a fleet behind one NAT or a proxy is not held back by its open channels; nor does a
 * connection idle for less than 10 s (a fleet reconnecting at once). IPv6 addresses count by /64,
 * which one host holds whole.
 */
import type { RequestListener, Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../../shared/log.js";
import { OnceAMinuteLog } from "../once-a-minute-log.js";
import { peerAddress } from "../peer-address.js";

/** Far above a proxy's keep-alive pool (nginx `keepalive` is tens) and a browser's six. */
export const MAX_IDLE_CONNECTIONS_PER_ADDRESS = 256;

/** The address a connection counts against: IPv4 as is, IPv6 by its /64. */
export function addressKey(peer: string | undefined): string {
  const remote = peerAddress(peer);
  if (remote === undefined) return "?";
  if (!remote.includes(":")) return remote;
  const [head = "", tail] = remote.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * How long a connection may sit with no request under way before it counts: a fleet reconnecting
 * at once (a hub restarted) is accepted in bursts of hundreds from one NAT address, each idle for
 * the moment before its request arrives; a keep-alive connection is closed by Node after 5 s idle.
 */
export const IDLE_GRACE_MS = 10_000;

/** Requests one connection may have waiting for their answers (HTTP pipelining; clients send one). */
export const MAX_PIPELINED_REQUESTS = 16;

/**
 * `app`, for requests whose connection is still open. Node reads a connection in chunks of up to
 * 64 KB and hands every request of a chunk to the app, also after the connection was closed for
 * pipelining too many (about 1,900 small requests a chunk, each costing the hub its routing).
 */
export function whileConnected(app: RequestListener): RequestListener {
  return (req, res) => {
    if (!req.socket.destroyed) app(req, res);
  };
}

export function limitIdleConnections(
  server: Server,
  options: { log: Logger; now?: () => number; perAddress?: number; graceMs?: number },
): void {
  const now = options.now ?? Date.now;
  const perAddress = options.perAddress ?? MAX_IDLE_CONNECTIONS_PER_ADDRESS;
  const graceMs = options.graceMs ?? IDLE_GRACE_MS;
  /** Per address, its idle connections and since when, oldest first (a Map keeps insertion order). */
  const idle = new Map<string, Map<Socket, number>>();
  const keyOf = new WeakMap<Socket, string>();
  const refusedLog = new OnceAMinuteLog(
    options.log,
    "refused a connection: too many idle connections from one address",
    now,
    { level: "warn", subject: "remote", detail: "reason" },
  );
  const count = (socket: Socket) => {
    if (socket.destroyed) return;
    const key = keyOf.get(socket) ?? addressKey(socket.remoteAddress);
    keyOf.set(socket, key);
    const sockets = idle.get(key) ?? new Map<Socket, number>();
    idle.set(key, sockets);
    sockets.delete(socket);
    sockets.set(socket, now());
  };
  const uncount = (socket: Socket) => {
    const key = keyOf.get(socket);
    const sockets = key === undefined ? undefined : idle.get(key);
    if (!sockets?.delete(socket)) return;
    if (sockets.size === 0) idle.delete(key as string);
  };
  /** Whether `key` holds `perAddress` connections idle past the grace (looks at that many at most). */
  const full = (key: string): boolean => {
    const sockets = idle.get(key);
    if (!sockets || sockets.size < perAddress) return false;
    const before = now() - graceMs;
    let stale = 0;
    for (const since of sockets.values()) {
      if (since > before) return false;
      if (++stale >= perAddress) return true;
    }
    return false;
  };
  server.on("connection", (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    if (full(key)) {
      const reason = `${perAddress} connections from ${key} are open with no request under way (at most ${perAddress}); send requests on those or close some`;
      refusedLog.record(key, reason);
      const body = `${reason}\n`;
      socket.on("error", () => socket.destroy());
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nRetry-After: 10\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    keyOf.set(socket, key);
    count(socket);
    socket.once("close", () => uncount(socket));
  });
  // A request under way holds the connection for a reason the hub checks (its token, its body);
  // once answered, a keep-alive connection is idle again until the next one.
  // Pipelined requests overlap: idle once the last of them is answered.
  const underWay = new WeakMap<Socket, number>();
  const pipelinedLog = new OnceAMinuteLog(
    options.log,
    "closed a connection: too many requests sent on it without waiting for the answers",
    now,
    { level: "warn", subject: "remote", detail: "reason" },
  );
  // Before the app's listener, so a request this closes the connection of is not handled either.
  server.prependListener("request", (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    uncount(socket);
    const pending = (underWay.get(socket) ?? 0) + 1;
    underWay.set(socket, pending);
    // Requests sent one after the other without waiting (HTTP pipelining) are all read and handled
    // at once, their answers queued in order: no credential needed, 20 connections that never read
    // had the hub take 2 million /healthz requests and another client's /healthz waited 149 s.
    // Browsers, curl and undici send the next request once the answer came; past a few the
    // connection is closed, and the hub reads nothing more from it.
    if (pending > MAX_PIPELINED_REQUESTS) {
      pipelinedLog.record(
        keyOf.get(socket) ?? addressKey(socket.remoteAddress),
        `more than ${MAX_PIPELINED_REQUESTS} requests sent on one connection without waiting for the answers`,
      );
      socket.destroy();
      return;
    }
    res.once("close", () => {
      const left = (underWay.get(socket) ?? 1) - 1;
      underWay.set(socket, left);
      if (left === 0) count(socket);
    });
  });
  server.on("upgrade", (req) => uncount(req.socket));
  server.once("close", () => {
    refusedLog.close();
    pipelinedLog.close();
  });
}
