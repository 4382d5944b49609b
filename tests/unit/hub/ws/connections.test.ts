import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { ConnectionRegistry } from "../../../../hub/ws/connections.js";
import { memoryLogger } from "../../../../shared/log.js";
import type { HubMessage } from "../../../../shared/protocol/messages.js";

/** What sendTo needs of a socket: open, reading, and a record of what it was sent. */
function fakeSocket(): WebSocket & { frames: string[] } {
  const frames: string[] = [];
  return {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    frames,
    send: (data: string) => frames.push(data),
    terminate: () => undefined,
  } as unknown as WebSocket & { frames: string[] };
}

const deploy = (deploymentId: string): HubMessage => ({
  type: "deploy",
  v: 1,
  deploymentId,
  app: "web",
  release: { id: "r1", app: "web", version: "1", manifest: "", source: { type: "git", commit: "abcdef1" } },
  rollback: false,
});

describe("ConnectionRegistry: which deploy instructions a connection was handed", () => {
  const registry = () => new ConnectionRegistry({ maxBufferedBytes: 1 << 20, log: memoryLogger() });

  it("remembers each deploy sent on the agent's current connection, and forgets it with the connection", () => {
    const agents = registry();
    const first = fakeSocket();
    agents.add("a1", first);
    expect(agents.wasHanded("a1", "ro1:a1")).toBe(false);
    expect(agents.send("a1", deploy("ro1:a1"))).toBe(true);
    expect(agents.wasHanded("a1", "ro1:a1")).toBe(true);
    expect(agents.wasHanded("a1", "ro2:a1")).toBe(false);
    expect(agents.wasHanded("a2", "ro1:a1")).toBe(false);
    // The agent reconnected: its new connection was handed nothing yet.
    agents.add("a1", fakeSocket());
    expect(agents.wasHanded("a1", "ro1:a1")).toBe(false);
  });

  it("does not count a send that did not reach the connection, nor other messages", () => {
    const agents = registry();
    const closed = fakeSocket();
    Object.assign(closed, { readyState: 3 });
    agents.add("a1", closed);
    expect(agents.send("a1", deploy("ro1:a1"))).toBe(false);
    expect(agents.wasHanded("a1", "ro1:a1")).toBe(false);
    agents.add("a2", fakeSocket());
    agents.send("a2", { type: "error", v: 1, message: "x" });
    expect(agents.wasHanded("a2", "x")).toBe(false);
  });

  it("keeps the latest few per connection: an old one forgotten is only sent again", () => {
    const agents = registry();
    agents.add("a1", fakeSocket());
    for (let i = 0; i < 40; i++) agents.send("a1", deploy(`ro${i}:a1`));
    expect(agents.wasHanded("a1", "ro39:a1")).toBe(true);
    expect(agents.wasHanded("a1", "ro0:a1")).toBe(false);
  });
});
