import { setFlagsFromString } from "node:v8";
import { type Dispatcher, request } from "undici";
import { proxiedDispatcher } from "../../agent/download/dispatcher.js";
import { networkErrorText } from "../../agent/download/errors.js";
import { headerValue } from "../../agent/download/header-value.js";
import { proxyCredentialsError, proxyCredentialsRefused } from "../../agent/download/proxy.js";
import { authSchemes } from "../../agent/download/proxy-tunnel.js";
import { redactUrl } from "../../agent/download/redact.js";
import { BadInputError } from "../../shared/errors.js";
import { hubAddressProblem } from "../../shared/hub-address.js";
import { readNamedText } from "../../shared/named-file.js";
import { HubRequestError } from "../errors.js";
import { quotedText } from "../quoted-text.js";
import { flagOverVariable } from "./flag-over-variable.js";
import { say } from "./stderr-lines.js";

// A command line is readable by every local user (ps, /proc/PID/cmdline) while the command runs.
const TOKEN_IN_PS =
  "--token puts the operator token in the process list (ps), where every local user can read it; set SHIP_HUB_TOKEN or use --token-file (chmod 600) instead";

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
    // Said before the first request, not here: every input is checked by then, so a refusal of
    // one stays one line. Warnings, not refusals: scripts pass a token so, and set both.
    private warnings: string[],
  ) {}

  static async from(options: RemoteOptions): Promise<HubClient> {
    const env = process.env.SHIP_HUB_URL;
    const [hub, hubFrom] =
      options.hub !== undefined ? [options.hub, "--hub"] : env ? [env, "SHIP_HUB_URL"] : [];
    const raw = hub ?? "http://127.0.0.1:8080";
    const problem = hubAddressProblem(raw);
    // The value is echoed as given, and only when it cannot hold a password.
    if (problem !== undefined)
      throw BadInputError.single(
        hubFrom ?? "--hub",
        "",
        `${raw.includes("@") ? "the URL" : quotedText(raw)} ${problem}`,
      );
    const base = raw.replace(/\/+$/, "");
    const token = await tokenOf(options);
    if (!token) throw new HubRequestError(401, "no token: pass --token, --token-file or set SHIP_HUB_TOKEN");
    // undici parses HTTP with llhttp, WebAssembly it compiles on the first request; V8 compiled it
    // with its optimizing tier too: ~0.2 s of CPU, two thirds of a whole `ship-hub rollout list`,
    // for answers of a few KB. The baseline compiler alone (Liftoff) parses those as fast as they
    // come. Only this process's later WebAssembly is affected: the CLI compiles none other.
    setFlagsFromString("--liftoff-only");
    // 300 s without headers or body data, as Node's own fetch waited: `--watch` polls alike.
    return new HubClient(
      base,
      token,
      proxiedDispatcher({ timeoutMs: 300_000 }).dispatcher,
      [
        ...(options.token !== undefined ? [TOKEN_IN_PS] : []),
        flagOverVariable({ flag: "--hub", given: options.hub, variable: "SHIP_HUB_URL" }),
        // The token the flag gave (a --token-file's too) against the variable's: the same one is no news.
        flagOverVariable({
          flag: options.token !== undefined ? "--token" : "--token-file",
          given: options.token !== undefined || options.tokenFile !== undefined ? token : undefined,
          variable: "SHIP_HUB_TOKEN",
          same: (a, b) => a.trim() === b.trim(),
        }),
      ].filter((warning) => warning !== undefined),
    );
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (const warning of this.warnings.splice(0)) say(`warning: ${warning}`);
    let res: Dispatcher.ResponseData;
    try {
      // undici's request, not fetch: fetch refuses the ports browsers block (6000, 10080, …) with
      // only "bad port", so a hub the agents and `ship release publish` reached on one was out of
      // this CLI's reach; and fetch followed a 301 by turning a POST into a GET.
      res = await request(`${this.base}/api/v1${path}`, {
        dispatcher: this.dispatcher,
        method: method as Dispatcher.HttpMethod,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      // The proxy's 407 to a CONNECT: its variable's credentials, missing or refused, which no retry fixes.
      const refused = proxyCredentialsRefused(error, this.base);
      if (refused !== undefined) throw refused;
      throw new HubRequestError(
        503,
        `cannot reach the hub at ${this.base}: ${networkErrorText(error)}${privateCaHint(error)}`,
      );
    }
    // A plain-http request goes to the proxy whole, so its 407 comes back as the answer.
    const proxyRefused =
      res.statusCode === 407
        ? proxyCredentialsError(this.base, authSchemes(res.headers["proxy-authenticate"]))
        : undefined;
    if (proxyRefused !== undefined) throw proxyRefused;
    const location = headerValue(res.headers, "location");
    if (res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
      await res.body.dump();
      throw new HubRequestError(
        res.statusCode,
        `hub answered ${res.statusCode}, a redirect to ${redactUrl(new URL(location, this.base).toString())}: give the hub's own address in --hub (or SHIP_HUB_URL)`,
      );
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    if (res.statusCode >= 300) {
      const message = (parsed as { error?: unknown })?.error;
      throw new HubRequestError(
        res.statusCode,
        `hub answered ${res.statusCode}: ${typeof message === "string" ? message : text}`,
      );
    }
    // The hub's own schemas shaped this response.
    return parsed as T;
  }
}
