/**
 * An agent that cannot reach its hub (down, a wrong port or host, a certificate it does not trust)
 * logged every reconnect at INFO, for ever: under `[general.logging] level = "WARNING"` (or
 * `journalctl -p warning`) it failed without a line. The first few failures in a row (a hub
 * restart) stay at INFO; after that each reconnect line is a WARNING. Real TCP port with nothing
 * listening, real WebSocket client.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { freePort } from "../../support/servers/free-port.js";
import { testHubConnection } from "../../support/test-hub-connection.js";
import { waitFor } from "../../support/wait-for.js";

type Line = { level: string; msg: string };

describe("reconnect lines for a hub out of reach", () => {
  let connection: HubConnection | undefined;
  afterEach(async () => {
    await connection?.stop();
  });

  it("are INFO for the first four failures in a row, then WARNING, each naming why", async () => {
    const lines: Line[] = [];
    const port = await freePort();
    connection = testHubConnection(`http://127.0.0.1:${port}`, lines, {
      reconnectBaseMs: 1,
      reconnectMaxMs: 5,
    });
    connection.start();
    const reconnects = () => lines.filter((l) => l.msg.endsWith("; reconnecting"));
    await waitFor("seven reconnect lines", async () => reconnects().length >= 7, {
      timeoutMs: 15_000,
      intervalMs: 20,
      where: "the agent's log",
    });
    const seen = reconnects().slice(0, 7);
    expect(seen.map((l) => l.level)).toEqual(["info", "info", "info", "info", "warn", "warn", "warn"]);
    for (const line of seen)
      expect(line.msg).toBe("hub connection failed: connection refused (ECONNREFUSED); reconnecting");
  });
});
