/** What `ps` shows every local user: the command lines of all processes, read from /proc. */
import { readdirSync, readFileSync } from "node:fs";
import { gitHttpHandler } from "./servers/git-http.js";
import { startHttpServer, type TestServer } from "./servers/http-server.js";

/** Every process's command line that holds `secret` right now. */
export function commandLinesHolding(secret: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`).toString().replaceAll("\0", " ");
      if (cmdline.includes(secret)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

/** A git server demanding a Basic pair, watching the command lines while git waits for each answer. */
export interface WatchedGitServer {
  server: TestServer;
  /** The command lines that held the secret while a request was answered. */
  seen: string[];
  /** How many requests came with the expected Authorization. */
  authorized(): number;
}

/**
 * A real `git http-backend` serving the repositories under `projectRoot`, demanding Basic `pair`
 * (`user:password`): git (and its git-remote-http child) wait for each answer, so every process's
 * command line is read then for `secret`.
 */
export async function startWatchedGitServer(
  projectRoot: string,
  pair: string,
  secret: string,
): Promise<WatchedGitServer> {
  const seen: string[] = [];
  let authorized = 0;
  const expected = `Basic ${Buffer.from(pair).toString("base64")}`;
  const backend = gitHttpHandler(projectRoot, expected);
  const server = await startHttpServer((req, res) => {
    seen.push(...commandLinesHolding(secret));
    if (req.headers.authorization === expected) authorized++;
    else if (req.headers.authorization === undefined) res.setHeader("www-authenticate", 'Basic realm="git"');
    backend(req, res);
  });
  return { server, seen, authorized: () => authorized };
}
