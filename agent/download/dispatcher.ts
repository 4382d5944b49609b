/**
 * The HTTP client every download shares: TLS verified (optionally against the operator's CA).
 * Redirects are followed by follow-redirects.ts, which decides per hop which headers may go along.
 */
import { readFile } from "node:fs/promises";
import { Agent, type Dispatcher } from "undici";

export interface ClientOptions {
  /** PEM file of the CA that signed the server's certificate (replaces the system roots). */
  caFile?: string;
  /** Time to wait for response headers, and for each pause in the body. */
  timeoutMs?: number;
}

export interface HttpClient {
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

export async function createHttpClient(options: ClientOptions = {}): Promise<HttpClient> {
  const ca = options.caFile === undefined ? undefined : await readFile(options.caFile);
  const timeout = options.timeoutMs ?? 60_000;
  const agent = new Agent({
    connect: ca === undefined ? {} : { ca },
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connectTimeout: Math.min(timeout, 30_000),
  });
  return { dispatcher: agent, close: () => agent.close() };
}
