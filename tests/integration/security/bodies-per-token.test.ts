/**
 * The hub holds a JSON body in memory as it arrives (up to 2 MB) for as long as its client keeps
 * sending. One CI token (every build host holds one) sent 300 bodies short of their last byte and
 * a real hub held 460 MB more; a few thousand would take all its memory. At most 20 bodies per
 * token are under way now; the next is refused before a byte of it is read. Real hub (in
 * process), real sockets.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODIES_PER_TOKEN } from "../../../hub/auth/require-role.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.stop();
});

const DECLARED = 2_000_000;

interface Posted {
  socket: Socket;
  /** What the hub answered so far. */
  answer: () => string;
}

/** A POST of a JSON body declared `DECLARED` bytes long, of which only `sent` are sent. */
async function postPart(path: string, token: string, sent: string): Promise<Posted> {
  const { port } = new URL(hub.hub.url);
  const socket = connect(Number(port), "127.0.0.1");
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${DECLARED}\r\n\r\n${sent}`,
  );
  return { socket, answer: () => text };
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

describe("JSON bodies one token may have under way", () => {
  it("past 20 the next is refused 429 before it is read; other tokens are not held back; a closed one frees its place", async () => {
    const held: Posted[] = [];
    for (let i = 0; i < MAX_BODIES_PER_TOKEN; i++)
      held.push(await postPart("/api/v1/releases", hub.ci, `{"app": "web", "pad": "${" ".repeat(1000)}`));
    await settle();
    // Each is waiting for the rest of its body.
    expect(held.map((p) => p.answer())).toEqual(Array(MAX_BODIES_PER_TOKEN).fill(""));

    const refused = await postPart("/api/v1/releases", hub.ci, "");
    await settle();
    const answer = refused.answer();
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toMatch(/\r\nRetry-After: 10\r\n/i);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain(
      `this token has ${MAX_BODIES_PER_TOKEN} request bodies under way already (at most ${MAX_BODIES_PER_TOKEN}); finish or close one, or use another token`,
    );

    // The operator's token is another token: its body is read and answered as ever.
    const preview = await hub.api("POST", "/api/v1/rollouts/preview", {
      token: hub.operator,
      body: { release: "nope", waves: [{ percent: 100 }] },
    });
    expect(preview.status).not.toBe(429);

    // One body given up frees a place: the next is read (and refused by the route for what it is).
    held.shift()?.socket.destroy();
    await settle();
    const small = await hub.api("POST", "/api/v1/releases", { token: hub.ci, body: { app: "web" } });
    expect(small.status).toBe(400);
    for (const p of [...held, refused]) p.socket.destroy();
  });
});
