/**
 * The hub holds a request's JSON body as it arrives (up to 2 MB), and its answer until the client
 * reads it, for as long as the client likes. One CI token (every build host holds one) sent 300
 * bodies short of their last byte and a real hub held 460 MB more; one operator token asked for
 * 200 pages of releases (4 MiB each) and read none: 980 MB, /healthz waiting 21 s. At most 20
 * requests per token are under way now; the next is refused at once, before its body is read.
 * Event streams and artifact transfers have bounds of their own. Real hub (in process), real
 * sockets.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REQUESTS_PER_TOKEN } from "../../../hub/auth/require-role.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.stop();
});

interface Sent {
  socket: Socket;
  /** What the hub answered so far. */
  answer: () => string;
}

/** Sends `head` (and `body`) on a socket of its own that reads the answer only when `reading`. */
async function send(head: string, body = "", reading = true): Promise<Sent> {
  const { port } = new URL(hub.hub.url);
  const socket = connect(Number(port), "127.0.0.1");
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  if (!reading) socket.pause();
  socket.write(`${head}\r\n\r\n${body}`);
  return { socket, answer: () => text };
}

/** A POST declaring 2 MB of JSON of which only `sent` is sent. */
function postPart(path: string, token: string, sent: string): Promise<Sent> {
  return send(
    `POST ${path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2000000`,
    sent,
  );
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

const refusal = `this token has ${MAX_REQUESTS_PER_TOKEN} requests under way already (at most ${MAX_REQUESTS_PER_TOKEN}); finish or close one, or use another token`;

describe("requests one token may have under way", () => {
  it("bodies sent slowly: past 20 the next is refused 429 before it is read; other tokens are not held back; a closed one frees its place", async () => {
    const held: Sent[] = [];
    for (let i = 0; i < MAX_REQUESTS_PER_TOKEN; i++)
      held.push(await postPart("/api/v1/releases", hub.ci, `{"app": "web", "pad": "${" ".repeat(1000)}`));
    await settle();
    // Each is waiting for the rest of its body.
    expect(held.map((p) => p.answer())).toEqual(Array(MAX_REQUESTS_PER_TOKEN).fill(""));

    const refused = await postPart("/api/v1/releases", hub.ci, "");
    await settle();
    const answer = refused.answer();
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toMatch(/\r\nRetry-After: 10\r\n/i);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain(refusal);
    // Nor may the token do anything else meanwhile.
    expect((await hub.api("GET", "/api/v1/releases", { token: hub.ci })).status).toBe(429);

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
    await settle();
    expect((await hub.api("GET", "/api/v1/releases", { token: hub.ci })).status).toBe(200);
  });

  it("answers never read: past 20 pages of releases the token waits; event streams and downloads count apart", async () => {
    // 70 releases whose manifests (60 KB each) make a page of 4 MiB.
    const pad = `${Array.from({ length: 1500 }, (_, i) => `# padding line ${i} ${"x".repeat(20)}`).join("\n")}\n`;
    for (let i = 0; i < 70; i++) {
      const version = `2.0.${i}`;
      await hub.hub.store.insertRelease({
        id: `big-${i}`,
        app: "big",
        version,
        manifest: `version: "${version}"\n${pad}`.slice(0, 60_000),
        source: { type: "git", commit: "abcdef1" },
        signature: null,
        created: 1_000 + i,
        createdBy: "ci",
      });
    }
    const unread: Sent[] = [];
    for (let i = 0; i < MAX_REQUESTS_PER_TOKEN; i++)
      unread.push(
        await send(
          `GET /api/v1/releases?app=big&limit=1000 HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${hub.operator}`,
          "",
          false,
        ),
      );
    await settle();
    expect((await hub.api("GET", "/api/v1/agents", { token: hub.operator })).status).toBe(429);

    for (const s of unread) s.socket.destroy();
    await settle();
    // An event stream is held for as long as the dashboard is open, and an artifact download for
    // as long as its client reads, each under a bound of its own (20 per token): neither takes a
    // place of the token's requests.
    const held: Sent[] = [];
    for (let i = 0; i < 20; i++)
      held.push(
        await send(`GET /api/v1/stream HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${hub.operator}`),
      );
    const artifact = Buffer.alloc(8 << 20, 7);
    const uploaded = await fetch(`${hub.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${hub.ci}` },
      body: artifact,
    });
    const { sha256 } = (await uploaded.json()) as { sha256: string };
    for (let i = 0; i < 20; i++)
      held.push(
        await send(
          `GET /api/v1/artifacts/${sha256} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${hub.ci}`,
          "",
          false,
        ),
      );
    await settle();
    for (const s of held.slice(0, 20)) expect(s.answer()).toMatch(/^HTTP\/1\.1 200 /);
    expect((await hub.api("GET", "/api/v1/agents", { token: hub.operator })).status).toBe(200);
    expect((await hub.api("GET", "/api/v1/releases", { token: hub.ci })).status).toBe(200);
    for (const s of held) s.socket.destroy();
  });
});
