import { type Dispatcher, fetch } from "undici";
import { proxiedDispatcher } from "../../agent/download/dispatcher.js";
import { networkErrorText } from "../../agent/download/errors.js";
import { proxyCredentialsError, proxyCredentialsRefused } from "../../agent/download/proxy.js";
import { BadInputError } from "../../shared/errors.js";
import { API_PATH_MESSAGE, hasApiPath } from "../../shared/hub-address.js";
import { readNamedText } from "../../shared/named-file.js";
import { HubRequestError } from "../errors.js";

// A JWT: three base64url parts. Anything else (a hub.toml given as --token-file) is refused without
// echoing it: it may hold a password, and fetch would quote it in its "invalid header value" error.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The operator token from --token or --token-file (one of them), else SHIP_HUB_TOKEN, checked to look
 * like one. The flags come first: a token file typed on the command line lost to a variable left in
 * the shell (an older token, another hub's), silently, even when the file did not exist.
 */
async function tokenOf(options: RemoteOptions): Promise<string | undefined> {
  if (options.token !== undefined && options.tokenFile !== undefined)
    throw BadInputError.single("--token", "", "and --token-file: give one of them");
  const [token, from] =
    options.token !== undefined
      ? [options.token, "--token"]
      : options.tokenFile !== undefined
        ? [
            (
              await readNamedText(options.tokenFile, { file: "--token-file", key: "" }, { nonEmpty: true })
            ).trim(),
            `--token-file ${options.tokenFile}`,
          ]
        : process.env.SHIP_HUB_TOKEN
          ? [process.env.SHIP_HUB_TOKEN, "SHIP_HUB_TOKEN"]
          : [];
  if (token !== undefined && !JWT_SHAPE.test(token.trim()))
    throw BadInputError.single(
      from ?? "",
      "",
      "does not hold a token (one JWT, as `ship-hub token create` prints it)",
    );
  return token?.trim();
}

export interface RemoteOptions {
  hub?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

/** OpenSSL's codes for a hub certificate from a CA Node does not trust. */
const UNTRUSTED_CA = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/**
 * A hub behind TLS with a private CA: the message named the certificate and nothing to do; Node
 * trusts its own CA list, not the system's, and reads one more file only from the environment.
 */
function privateCaHint(cause: unknown): string {
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
  if (code === undefined || !UNTRUSTED_CA.has(code)) return "";
  return ` (${code}); a private CA: run ship-hub with NODE_EXTRA_CA_CERTS=/path/to/ca.pem (its certificate, PEM)`;
}

/**
 * Talks to the hub API with an operator token from --token or --token-file, else SHIP_HUB_TOKEN,
 * through the environment's proxy as curl and `ship release publish` go (https_proxy, http_proxy,
 * no_proxy read as curl reads them): from a workstation whose only way out is the proxy, every
 * command said "cannot reach the hub: getaddrinfo ENOTFOUND" while curl reached it.
 */
export class HubClient {
  private constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly dispatcher: Dispatcher,
  ) {}

  static async from(options: RemoteOptions): Promise<HubClient> {
    const env = process.env.SHIP_HUB_URL;
    const [hub, hubFrom] =
      options.hub !== undefined ? [options.hub, "--hub"] : env ? [env, "SHIP_HUB_URL"] : [];
    const base = (hub ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    // The value is echoed only when it cannot hold a password: `user:pass@` never reaches a message.
    const shown = base.includes("@") ? "the URL" : `"${base}"`;
    if (!/^https?:\/\/[^/\s]+/.test(base) || !URL.canParse(base))
      throw BadInputError.single(hubFrom ?? "--hub", "", `${shown} is not an http:// or https:// URL`);
    // The API's own address copied in: every command was "hub answered 404: no route GET /api/v1/api/v1/…".
    if (hasApiPath(base)) throw BadInputError.single(hubFrom ?? "--hub", "", `${shown} ${API_PATH_MESSAGE}`);
    const parsed = new URL(base);
    if (parsed.username !== "" || parsed.password !== "")
      throw BadInputError.single(
        hubFrom ?? "--hub",
        "",
        "must not carry user:password@ (fetch refuses it, and it would show in errors); the token is the credential",
      );
    const token = await tokenOf(options);
    if (!token) throw new HubRequestError(401, "no token: pass --token, --token-file or set SHIP_HUB_TOKEN");
    // Node's own fetch times out after 300 s without headers or body data; kept so `--watch` polls alike.
    return new HubClient(base, token, proxiedDispatcher({ timeoutMs: 300_000 }).dispatcher);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        dispatcher: this.dispatcher,
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is its cause.
      let cause = (error as Error).cause;
      // A tunnel the proxy refused is two causes down ("Request was cancelled" in between).
      while (
        cause instanceof Error &&
        cause.message === "Request was cancelled." &&
        cause.cause instanceof Error
      )
        cause = cause.cause;
      const reason = networkErrorText(cause instanceof Error ? cause : error);
      // The proxy's 407: its variable's credentials, missing or refused, which no retry fixes.
      const refused = proxyCredentialsRefused(cause, this.base);
      if (refused !== undefined) throw refused;
      throw new HubRequestError(
        503,
        `cannot reach the hub at ${this.base}: ${reason}${privateCaHint(cause)}`,
      );
    }
    // A plain-http request goes to the proxy whole, so its 407 comes back as the answer.
    const proxyRefused = res.status === 407 ? proxyCredentialsError(this.base) : undefined;
    if (proxyRefused !== undefined) throw proxyRefused;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    if (!res.ok) {
      const message = (parsed as { error?: unknown })?.error;
      throw new HubRequestError(
        res.status,
        `hub answered ${res.status}: ${typeof message === "string" ? message : text}`,
      );
    }
    // The hub's own schemas shaped this response.
    return parsed as T;
  }
}
