/**
 * A bare agent-channel client for tests against a hub process: the upgrade (with the agent's
 * token and any other headers), a hello, and the status of an upgrade the hub refuses.
 */
import { readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";

export function channel(url: string, token: string, headers: Record<string, string> = {}): WebSocket {
  return new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
}

/** A connected agent that said hello; resolves once the hello is sent. */
export async function connectAgent(
  url: string,
  id: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<WebSocket> {
  const ws = channel(url, token, headers);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(
    JSON.stringify({
      type: "hello",
      v: 1,
      agentId: id,
      hostname: id,
      labels: {},
      agentVersion: "test",
      apps: [{ app: "web", version: "1.0.0", state: "ok" }],
    }),
  );
  return ws;
}

/** The status of an upgrade the hub refuses. */
export function upgradeStatus(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = channel(url, token, headers);
    ws.once("open", () => reject(new Error("the hub opened the agent channel")));
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

/** The JSON lines of a hub's log file whose `msg` is `msg`. */
export async function linesOf(file: string, msg: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);
}

/**
 * The lines of `msg` once the hub has written them: at least one, and the file unchanged for a
 * quarter second after. The hub's stderr log is buffered, so a line can reach the file after the
 * reply it came with reaches the test (a loaded CI machine read none). Fails after `timeoutMs`.
 */
export async function writtenLinesOf(
  file: string,
  msg: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  let size = -1;
  while (Date.now() < deadline) {
    const now = (await stat(file)).size;
    if (now === size) {
      const lines = await linesOf(file, msg);
      if (lines.length > 0) return lines;
    }
    size = now;
    await sleep(250);
  }
  throw new Error(`no "${msg}" line in ${file} within ${timeoutMs / 1000} s`);
}
