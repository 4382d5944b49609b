/** A HubConnection to `hubUrl` as a test agent "a1" with no apps, its lines in `lines`. */
import { HubConnection, type HubConnectionOptions } from "../../agent/daemon/hub-connection.js";
import { memoryLogger } from "../../shared/log.js";
import type { Hello } from "../../shared/protocol/messages.js";

/** The hello of test agent "a1": no apps, no labels. */
export function testHello(): Hello {
  return { type: "hello", v: 1, agentId: "a1", hostname: "a1", labels: {}, agentVersion: "t", apps: [] };
}

export function testHubConnection(
  hubUrl: string,
  lines: { level: string; msg: string }[],
  options: Partial<HubConnectionOptions> = {},
): HubConnection {
  return new HubConnection({
    hubUrl,
    token: "t",
    hello: testHello,
    onMessage: () => undefined,
    log: memoryLogger(lines),
    ...options,
  });
}
