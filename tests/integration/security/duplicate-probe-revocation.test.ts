/**
 * A connection of an agent id already connected here waits (up to 2 s) for the older connection to
 * answer a ping before it is let in. The token was checked before that wait only, so a token
 * revoked during it still opened the agent channel: its hello took the agent's place (the older
 * connection closed as "replaced") and the hub's instructions went to the revoked token's holder
 * until the next session check. Real hub (in process) over real WebSocket.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startTestHub, TestAgent, type TestHub } from "../hub/support.js";

let hub: TestHub | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await hub?.stop();
  hub = undefined;
});

function jtiOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as { jti: string })
    .jti;
}

describe("a token revoked while the hub probes the agent's older connection", () => {
  it("is refused 401 when the probe ends, and the older connection keeps its place", async () => {
    const t = await startTestHub();
    hub = t;
    // Half-open: the older connection stays open at the hub but answers no ping, so the probe
    // waits its whole 2 s and then lets the newcomer replace it.
    const older = await TestAgent.connect(t.hub.url, await t.agentToken("web-1"), { autoPong: false });
    sockets.push(older.ws);
    older.hello("web-1");
    await expect.poll(() => t.hub.registry.isOnline("web-1")).toBe(true);
    const held = t.hub.registry.socketOf("web-1");

    const stolen = await t.agentToken("web-1");
    const probed = new Promise<void>((resolve) => older.ws.once("ping", () => resolve()));
    const ws = new WebSocket(`${t.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${stolen}` },
    });
    sockets.push(ws);
    const outcome = new Promise<{ status: number; reason: string } | "opened">((resolve) => {
      ws.once("open", () => {
        // What an agent does at once: say hello.
        ws.send(
          JSON.stringify({
            type: "hello",
            v: 1,
            agentId: "web-1",
            hostname: "elsewhere",
            labels: {},
            agentVersion: "test",
            apps: [{ app: "web", version: "1.0.0", state: "ok" }],
          }),
        );
        resolve("opened");
      });
      ws.once("unexpected-response", (_req, res) =>
        resolve({ status: res.statusCode ?? 0, reason: String(res.headers["x-ship-refused"] ?? "") }),
      );
      ws.once("error", () => {});
    });
    // The token was accepted and the probe is under way: now the operator revokes it.
    await probed;
    expect(await t.hub.tokens.revoke(jtiOf(stolen))).toBe(true);

    expect(await outcome).toEqual({ status: 401, reason: "token revoked" });
    // Nothing of the revoked token's connection reached the registry.
    await new Promise((r) => setTimeout(r, 200));
    expect(t.hub.registry.socketOf("web-1")).toBe(held);
    expect(older.ws.readyState).toBe(WebSocket.OPEN);
  });
});
