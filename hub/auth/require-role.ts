import type { NextFunction, Request, Response } from "express";
import { AuthError, HubRequestError } from "../errors.js";
import type { Role } from "../store/store.js";
import { HeldPerToken } from "./held-per-token.js";
import type { LiveSessions } from "./live-sessions.js";
import { bearerToken, type Principal, type TokenService } from "./tokens.js";

/**
 * Requests one token may have under way at once on a hub (event streams and artifact transfers
 * are counted by their own bounds instead). The hub holds each request's body as it arrives (up to
 * 2 MB), and each answer until its client reads it, for as long as the client likes: one CI token
 * (on every build host) sent 300 bodies short of their last byte and the hub held 460 MB; one
 * operator token asked for 200 pages of releases (4 MiB each) and read none, and the hub took
 * 980 MB while /healthz waited 21 s. CI publishes one release at a time; the dashboard and the CLI
 * send a request or two at a time.
 */
export const MAX_REQUESTS_PER_TOKEN = 20;

/** Each hub's count of requests under way, per token issued (a TokenService is one hub's). */
const underWay = new WeakMap<TokenService, HeldPerToken>();

/**
 * Counts this request against its token until its answer closes; 429 when the token has
 * MAX_REQUESTS_PER_TOKEN under way already.
 */
function holdRequest(tokens: TokenService, principal: Principal, res: Response): void {
  let held = underWay.get(tokens);
  if (held === undefined) {
    held = new HeldPerToken(MAX_REQUESTS_PER_TOKEN);
    underWay.set(tokens, held);
  }
  const give = held.take(principal.issuedJti);
  if (give === undefined) {
    res.setHeader("Retry-After", "10");
    throw new HubRequestError(
      429,
      `this token has ${held.max} requests under way already (at most ${held.max}); finish or close one, or use another token`,
    );
  }
  res.locals.giveRequestBack = give;
  res.once("close", give);
}

/**
 * For a request that lasts as long as its client likes and has a bound of its own per token (an
 * event stream, an artifact transfer): no longer counted among the token's requests under way.
 */
export function countedElsewhere(res: Response): void {
  (res.locals.giveRequestBack as (() => void) | undefined)?.();
}

/** Whether the request comes with a body (declared by its length, or chunked). */
export function sendsBody(req: Request): boolean {
  return Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
}

/**
 * A request refused before its body was read: the connection is closed after the answer. Kept
 * open, node reads and drops the rest of the body to make way for the next request, so a client
 * without a token that sent an endless body had the hub read it at full speed (130 MB/s on
 * loopback, /healthz up to 0.4 s with four of them) for as long as it liked.
 */
export function closeAfterAnswer(req: Request, res: Response): void {
  if (sendsBody(req) && !req.complete && !res.headersSent) res.setHeader("Connection", "close");
}

/** The verified caller of the current request, set by requireRole. */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AuthError(401, "no principal: route lacks requireRole");
  return p;
}

/** Actor string for audit events: the token's name and jti, never the token itself. */
export function actorOf(res: Response): string {
  const p = principalOf(res);
  return `${p.name} (${p.jti})`;
}

/**
 * Before a request body is read: a caller without a valid token must not make the hub read and
 * parse up to 2 MB of JSON (scanned for depth and keys, then JSON.parse) for a request that ends in
 * 401 anyway; many at once would hold its event loop. The route's requireRole then checks the role.
 */
export function authenticateBody(tokens: TokenService, sessions: LiveSessions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!sendsBody(req)) return next();
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AuthError(401, "missing bearer token");
    const principal = await tokens.verify(token);
    // No API route takes a body from an agent (it speaks over the agent channel, and only reads
    // artifacts here), yet its token, on every host of the fleet, made the hub read and parse 2 MB
    // bodies before the route's 403: eight loops of them held /healthz 1.5 s.
    if (principal.role === "agent")
      throw new AuthError(
        403,
        `role agent may not do this: ${req.method} ${req.baseUrl}${req.path} takes no agent token (agents send no request body to the API)`,
      );
    // Nor from a CI token on an operator's route (or the reverse): each can post 2 MB, so a CI
    // token on a build host made the hub parse bodies it then refused.
    const roles = bodyRoutes.find((r) => r.method === req.method && r.path.test(req.path))?.roles;
    if (roles !== undefined && !roles.includes(principal.role)) throw roleRefusal(req, principal.role, roles);
    holdRequest(tokens, principal, res);
    whileBodyArrives(sessions, principal, req, res);
    res.locals.principal = principal;
    next();
  };
}

/**
 * A body arrives for as long as its client likes (a connection is dropped only after 2 minutes of
 * silence): while it does, the request is a live session, answered 401 when its token is revoked or
 * expires, and its connection closed, rather than the hub reading on for a token `token revoke`
 * ended (a revoked CI token held its 20 slow bodies until it chose to finish them). Once the body is
 * in, the route's requireRole checks the token again.
 */
function whileBodyArrives(sessions: LiveSessions, principal: Principal, req: Request, res: Response): void {
  if (req.complete) return;
  const session = sessions.open(principal, (reason) => refuseWhileArriving(req, res, reason));
  req.once("end", () => session.end());
  res.once("close", () => session.end());
}

/**
 * A live session's token ended while its request body was still arriving: answered 401 `reason`
 * before the rest is read, and the connection closed after it (it cannot carry another request).
 * Destroyed instead, the client saw a reset, not why. False when the body is in or the answer has
 * begun: then only cutting the connection is left.
 */
export function refuseWhileArriving(req: Request, res: Response, reason: string): boolean {
  if (res.headersSent || req.complete) return false;
  // Node forgets a request once its answer is sent, so the connection's close does not end it: its
  // reader (the JSON parser, an upload's store) waited for the rest for good, and an upload's
  // temporary file stayed on disk.
  req.socket.once("close", () => req.destroy());
  res.setHeader("Connection", "close");
  res.setHeader("WWW-Authenticate", 'Bearer realm="ship-hub"');
  res.status(401).json({ error: reason });
  return true;
}

/**
 * The API routes that take a request body, and whose tokens they take (their routers'
 * requireRole says the same; tests/integration/security/agent-token-bodies.test.ts checks each).
 * Paths are under /api/v1; express matches them case-insensitively and with a trailing slash.
 */
const bodyRoutes: readonly { method: string; path: RegExp; roles: readonly Role[] }[] = [
  { method: "POST", path: /^\/releases\/?$/i, roles: ["ci"] },
  {
    method: "POST",
    path: /^\/rollouts(\/[^/]+(\/(advance|pause|resume|abort))?)?\/?$/i,
    roles: ["operator"],
  },
  { method: "POST", path: /^\/agents\/[^/]+\/check\/?$/i, roles: ["operator"] },
];

function roleRefusal(req: Request, role: Role, roles: readonly Role[]): AuthError {
  return new AuthError(
    403,
    `role ${role} may not do this: ${req.method} ${req.baseUrl}${req.path} takes ${/^[aeiou]/.test(roles[0] ?? "") ? "an" : "a"} ${roles.join(" or ")} token`,
  );
}

/**
 * A refusal of what the request names (a path id that is only spaces) to answer once requireRole has
 * let the caller through: the caller is told 401 or 403 first, as for any other request.
 */
export function refuseOnceAuthorized(res: Response, refusal: HubRequestError): void {
  res.locals.refusalOnceAuthorized = refusal;
}

/**
 * 401 without or with an invalid token, 403 when the token's role is not one of `roles`; then any
 * refusal waiting for the caller to be known (refuseOnceAuthorized).
 */
export function requireRole(tokens: TokenService, ...roles: Role[]) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    // authenticateBody verified this request's token before its body was read; reading it can take
    // as long as the client likes, so the token is looked up again (a revocation or expiry since
    // then refuses the request) rather than verified twice.
    const verified = res.locals.principal as Principal | undefined;
    const token = verified === undefined ? bearerToken(req.headers.authorization) : undefined;
    if (verified === undefined && !token) throw new AuthError(401, "missing bearer token");
    if (verified !== undefined) await tokens.stillInForce(verified);
    const principal = verified ?? (await tokens.verify(token as string));
    if (!roles.includes(principal.role)) throw roleRefusal(req, principal.role, roles);
    // A request with a body was counted before its body was read.
    const refusal = res.locals.refusalOnceAuthorized as HubRequestError | undefined;
    if (refusal !== undefined) throw refusal;
    if (verified === undefined) holdRequest(tokens, principal, res);
    res.locals.principal = principal;
    next();
  };
}
