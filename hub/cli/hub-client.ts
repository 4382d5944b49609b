import { readFile } from "node:fs/promises";
import { HubRequestError } from "../errors.js";

export interface RemoteOptions {
  hub?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

/** Talks to the hub API with an operator token from --token, SHIP_HUB_TOKEN or --token-file. */
export class HubClient {
  private constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  static async from(options: RemoteOptions): Promise<HubClient> {
    const base = (options.hub ?? process.env.SHIP_HUB_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    let token = options.token ?? process.env.SHIP_HUB_TOKEN;
    if (!token && options.tokenFile) token = (await readFile(options.tokenFile, "utf8")).trim();
    if (!token) throw new HubRequestError(401, "no token: pass --token, --token-file or set SHIP_HUB_TOKEN");
    return new HubClient(base, token);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new HubRequestError(503, `cannot reach the hub at ${this.base}: ${(error as Error).message}`);
    }
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
