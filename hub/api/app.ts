import express, { type NextFunction, type Request, type Response } from "express";
import { BadInputError } from "../../shared/errors.js";
import { jsonShapeProblem, MAX_JSON_VALUES } from "../../shared/json-depth.js";
import { authenticateBody, closeAfterAnswer, sendsBody } from "../auth/require-role.js";
import { dashboardServes, findDashboardAssets } from "../dashboard/assets.js";
import { EventStream } from "../dashboard/event-stream.js";
import { dashboardRoutes } from "../dashboard/router.js";
import { HubRequestError } from "../errors.js";
import { OnceAMinuteLog } from "../once-a-minute-log.js";
import { DatabaseNoAnswer, NO_ANSWER_CODE } from "../store/answer-deadline.js";
import { DatabaseLocked, LOCKED_CODE } from "../store/sqlite-lock-wait.js";
import { agentRoutes } from "./agents.js";
import { artifactRoutes } from "./artifacts.js";
import type { ApiDeps } from "./deps.js";
import { refuseNulInPath } from "./nul-refusal.js";
import { allowedMethods, hasOperation, openApiDocument, withHead } from "./openapi.js";
import { releaseRoutes } from "./releases.js";
import { rolloutRoutes } from "./rollouts.js";

export const API_PREFIX = "/api/v1";

/** The hub's HTTP API: express 5 routers under /api/v1, plus /healthz and /metrics. */
export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(deps.metrics.httpTimer());

  const openapi = openApiDocument();
  // The hub's own GET routes, outside the API's table (openapi.ts): registered from this table,
  // which the 405 below reads too.
  const ownRoutes: Record<string, express.RequestHandler> = {
    "/healthz": (_req, res) => {
      res.json({ ok: true });
    },
    "/metrics": async (_req, res) => {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
    [`${API_PREFIX}/openapi.json`]: (_req, res) => {
      res.json(openapi);
    },
    // The agents' channel is a WebSocket upgrade (server.ts): a plain GET (a browser, curl, a
    // probe) was a 404 "no route", which read as a channel the hub does not have.
    [`${API_PREFIX}/agent`]: (_req, res) => {
      res.setHeader("Upgrade", "websocket");
      throw new HubRequestError(
        426,
        `${API_PREFIX}/agent is the agents' WebSocket channel: connect with Upgrade: websocket and an agent token (ship agent does)`,
      );
    },
  };
  for (const [path, handler] of Object.entries(ownRoutes)) app.get(path, handler);
  const assets = findDashboardAssets();
  const noRoute = unmatched(Object.keys(ownRoutes), (path) => dashboardServes(path, assets));
  // An OPTIONS is answered here, for every path alike: each express router answered one itself
  // once its routes were passed (200, text/plain, the methods as the body), so the API's paths
  // answered so and the hub's own the 204 below.
  app.use((req, res, next) => (req.method === "OPTIONS" ? noRoute(req, res, next) : next()));

  app.use(API_PREFIX, refuseNulInPath);
  // Artifacts stream their raw body, so they are mounted before the JSON parser.
  app.use(API_PREFIX, artifactRoutes(deps));
  app.use(API_PREFIX, authenticateBody(deps.tokens, deps.sessions));
  // A body that is not JSON is refused by its content-type, not read as "no body" (a curl without
  // -H content-type got "body: is required" for the body it sent). Only where a route is: a path
  // or method the API has not is its 404, not a 415 about a body nothing would read.
  app.use(API_PREFIX, (req, _res, next) => {
    if (!sendsBody(req) || !hasOperation(req.method, req.path)) return next();
    if (req.is("application/json")) return next(readAsUtf8(req));
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim() || "none";
    next(
      new HubRequestError(
        415,
        `content-type: must be application/json for a JSON body (got ${type.slice(0, 100)})`,
      ),
    );
  });
  // Not strict: a body of `null` or `5` is valid JSON, refused by the route's schema in its words
  // ("body: must be a mapping (got null)") rather than called invalid JSON.
  app.use(
    API_PREFIX,
    express.json({
      limit: "2mb",
      strict: false,
      // Before JSON.parse, which takes seconds over a deeply nested body (shared/json-depth.ts).
      verify: (_req, _res, buf) => {
        const problem = jsonShapeProblem(buf, "body", MAX_JSON_VALUES);
        if (problem !== undefined) throw new HubRequestError(400, problem);
      },
    }),
  );
  app.use(API_PREFIX, releaseRoutes(deps));
  app.use(API_PREFIX, rolloutRoutes(deps));
  app.use(API_PREFIX, agentRoutes(deps));
  app.use(API_PREFIX, (deps.eventStream ?? new EventStream(deps)).router());
  app.use(dashboardRoutes(assets));

  app.use(noRoute);
  app.use(errorHandler(deps));
  return app;
}

/**
 * What no route answered: a path the hub serves, asked with a method it does not take, is a 405
 * with an Allow header naming the methods it takes (RFC 9110 15.5.6), read from the route tables
 * (the API's in openapi.ts, the hub's own, and the dashboard's files); it was a 404 "no route",
 * which read as a path that does not exist. An OPTIONS is answered with the same Allow. Any other
 * path is the 404.
 */
function unmatched(ownPaths: readonly string[], dashboardServesPath: (path: string) => boolean) {
  // As express matches them: case-insensitive, a trailing slash allowed.
  const own = ownPaths.map((path) => new RegExp(`^${path.replace(/\./g, "\\.")}/?$`, "i"));
  return (req: Request, res: Response, next: NextFunction): void => {
    const below = /^\/api\/v1(?=\/|$)/i.exec(req.path) ? req.path.slice(API_PREFIX.length) : undefined;
    const allowed = withHead([
      ...(below === undefined ? [] : allowedMethods(below)),
      ...(own.some((pattern) => pattern.test(req.path)) ||
      (below === undefined && dashboardServesPath(req.path))
        ? ["GET"]
        : []),
    ]);
    // A method the path takes, yet no route answered it: nothing at this path after all.
    if (allowed.length === 0 || allowed.includes(req.method)) {
      next(new HubRequestError(404, `no route ${req.method} ${req.path}`));
      return;
    }
    res.setHeader("Allow", allowed.join(", "));
    if (req.method === "OPTIONS") {
      res.status(204).end();
      return;
    }
    next(
      new HubRequestError(
        405,
        `${req.method} ${req.path}: method not allowed (this path takes ${allowed.join(", ")})`,
      ),
    );
  };
}

function errorHandler(deps: ApiDeps) {
  // While the database is unreachable every request fails alike (each open dashboard polls every
  // 2 s): said once a minute with a count, not a line per request.
  const unreachable = new OnceAMinuteLog(deps.log, "request failed", deps.now, { subject: "request" });
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let status = 500;
    let message = "internal error";
    if (error instanceof HubRequestError) {
      status = error.status;
      message = error.message;
    } else if (error instanceof BadInputError) {
      status = 400;
      message = error.message;
    } else if (isHttpError(error)) {
      // body-parser (by its `type`): malformed JSON, too large, an unsupported charset; the router:
      // a path segment that is not valid percent-encoding.
      status = error.status;
      message =
        error.type === "entity.parse.failed"
          ? `body: invalid JSON: ${error.message}`
          : error.type === "entity.too.large"
            ? "body: larger than the 2 MB a JSON body may be"
            : error.type === undefined && /^Failed to decode param/.test(error.message)
              ? `path: ${error.message.replace(/^Failed to decode param/, "cannot decode")} (bad percent-encoding)`
              : (bodyEncodingRefusal(error, req) ?? error.message);
    } else if (isDatabaseUnreachable(error)) {
      unreachable.record(`${req.method} ${req.path}`, String(error));
      // Not the request's fault and not a bug: say what is wrong, and when to come back (a client
      // or proxy that honours Retry-After retried straight into the same refusal without it).
      status = 503;
      message = unavailableText(error);
    } else {
      deps.log.error("request failed", { method: req.method, path: req.path, error: String(error) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before its body was read (no token, a wrong role, a wrong content-type …).
    closeAfterAnswer(req, res);
    if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="ship-hub"');
    if (status === 503) res.setHeader("Retry-After", String(UNAVAILABLE_RETRY_SECONDS));
    res.status(status).json({ error: message });
  };
}

/**
 * Every label the WHATWG Encoding Standard gives UTF-8 (compared lowercased, blanks at the ends
 * ignored): `charset=utf8` is how many clients spell it, and body-parser took only names starting
 * `utf-`, so it was a 415 for a body in the one charset the hub reads.
 */
const UTF8_LABELS: ReadonlySet<string> = new Set([
  "unicode-1-1-utf-8",
  "unicode11utf8",
  "unicode20utf8",
  "utf-8",
  "utf8",
  "x-unicode20utf8",
]);

/** One `; name=value` parameter of a content-type, read from where the last one ended. */
const PARAMETER = /\s*;\s*([^=;\s]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;]*)))?/y;

/**
 * The `; name=value` parameters of a content-type in order, names lowercased, a quoted-string's
 * escapes read (RFC 9110 5.6.4). Read parameter by parameter: searched for in the whole header, a
 * `; charset=utf-16` inside another parameter's quoted value was taken as the charset.
 */
function mediaTypeParameters(contentType: string): { name: string; value: string }[] {
  const parameters: { name: string; value: string }[] = [];
  PARAMETER.lastIndex = contentType.search(/;|$/);
  for (let match = PARAMETER.exec(contentType); match?.[0]; match = PARAMETER.exec(contentType))
    if (match[1])
      parameters.push({
        name: match[1].toLowerCase(),
        value: match[2] === undefined ? (match[3] ?? "").trim() : match[2].replace(/\\(.)/g, "$1"),
      });
  return parameters;
}

/**
 * A JSON body is UTF-8 (README): one declared by any UTF-8 label is read as UTF-8, the header put
 * as body-parser reads it; any other charset is a 415 naming it. body-parser read UTF-7, UTF-16 or
 * UTF-32 as declared — UTF-7 took a "+" as the start of a base64 run, storing a value that was not
 * the one sent; UTF-16 over UTF-8 bytes said "invalid JSON: Unexpected token". A parameter given
 * twice (`charset=utf-8; charset=utf-16`) is refused, naming it (RFC 6838 4.3: an error): the
 * first one was read, so a body its sender meant as UTF-16 was read as UTF-8. An empty charset is
 * said to be empty, not quoted as the charset `""`.
 */
function readAsUtf8(req: Request): HubRequestError | undefined {
  const parameters = mediaTypeParameters(req.headers["content-type"] ?? "");
  const twice = parameters.find((p, i) => parameters.findIndex((q) => q.name === p.name) !== i);
  if (twice !== undefined) {
    const values = parameters.filter((p) => p.name === twice.name).map((p) => shownValue(p.value));
    return new HubRequestError(
      415,
      `content-type: parameter ${shownValue(twice.name)} is given ${values.length === 2 ? "twice" : `${values.length} times`} (${values.join(", ")}): give it once`,
    );
  }
  const declared = parameters.find((p) => p.name === "charset")?.value.trim();
  if (declared === undefined) return undefined;
  if (UTF8_LABELS.has(declared.toLowerCase())) {
    req.headers["content-type"] = "application/json; charset=utf-8";
    return undefined;
  }
  if (declared === "")
    return new HubRequestError(
      415,
      "content-type: charset is empty: a JSON body is UTF-8 (send charset=utf-8, or no charset)",
    );
  return new HubRequestError(
    415,
    `content-type: charset ${shownValue(declared.toUpperCase())} is not one the hub reads: a JSON body is UTF-8`,
  );
}

/** A header's parameter name or value for a one-line message: JSON-quoted, cut at 100 characters. */
const shownValue = (text: string): string => JSON.stringify(text.slice(0, 100));

/**
 * body-parser's refusals of how a body is encoded, said as the header that declared it: a body
 * that does not decompress as its content-encoding says answered zlib's bare "incorrect header
 * check" (brotli's "Decompression failed"), naming neither the header nor the encoding.
 */
function bodyEncodingRefusal(
  error: { message: string; type?: string; code?: unknown },
  req: Request,
): string | undefined {
  const encoding = JSON.stringify(String(req.headers["content-encoding"] ?? "").slice(0, 100));
  if (error.type === "encoding.unsupported")
    return `content-encoding: ${encoding} is not one the hub reads (gzip, deflate, br, or none)`;
  // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR) and brotli's (ERR__ERROR_FORMAT_…, ERR_BROTLI_…).
  if (typeof error.code === "string" && /^(Z_|ERR__ERROR_|ERR_BROTLI)/.test(error.code))
    return `content-encoding: the body is not valid ${encoding} data (${error.message})`;
  return undefined;
}

function isHttpError(
  error: unknown,
): error is { status: number; message: string; type?: string; code?: unknown } {
  if (typeof error !== "object" || error === null) return false;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** A 503's Retry-After (API and agent channel): a database that went away is usually back within seconds. */
export const UNAVAILABLE_RETRY_SECONDS = 5;

/** SQLSTATE read_only_sql_transaction. */
const READ_ONLY = "25006";

/** Connection-level codes (node's, postgres.js's) and SQLSTATE 08xxx / 57P01-57P03 (server going away). */
const DATABASE_GONE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P02",
  "57P03",
  // No connection slot left (max_connections taken): the database is there but will not have us.
  "53300",
  // Connected, but silent past the store's deadline: a server frozen, a network dropping packets.
  NO_ANSWER_CODE,
  // SQLite: another process held the write lock past the store's wait (sqlite-lock-wait.ts).
  LOCKED_CODE,
  // Read-only: a failover left the hub's address on a standby, or the setting was switched on.
  // Not a bug of the request; the hub's start refuses such a database (postgres-store.ts).
  READ_ONLY,
]);

function codeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** What a 503 for `error` (one isDatabaseUnreachable takes) says: why, and to try again. */
export function unavailableText(error: unknown): string {
  if (error instanceof DatabaseNoAnswer)
    return `the hub's database did not answer within ${error.seconds} s; try again`;
  if (error instanceof DatabaseLocked)
    return `the hub's database is locked by another process (waited ${error.seconds} s for it); try again`;
  if (codeOf(error) === READ_ONLY)
    return "the hub's database takes no writes (read-only: a standby, or default_transaction_read_only); try again";
  return "the hub's database is unreachable; try again";
}

export function isDatabaseUnreachable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  // A unix socket's file is gone while its server is stopped.
  if (code === "ENOENT") return syscall === "connect";
  return typeof code === "string" && (DATABASE_GONE.has(code) || code.startsWith("08"));
}
