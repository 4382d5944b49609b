/**
 * One operator token cannot make the hub hold or buffer without bound through the dashboard's
 * event stream (`GET /api/v1/stream`): streams per token are counted, and a listener that stops
 * reading is not queued a message per change for as long as it stays connected.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_STREAMS_PER_TOKEN } from "../../../hub/dashboard/event-stream.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

/** A raw HTTP/1.1 stream request on its own socket: nothing reads it unless the test does. */
function rawStream(token: string): Promise<Socket> {
  const { port } = new URL(t.hub.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(`GET /api/v1/stream HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()));

describe("the event stream bounds what one operator token can make the hub hold", () => {
  it(`one token holds at most ${MAX_STREAMS_PER_TOKEN} streams; the next is a 429 saying why, and one closed frees its place`, async () => {
    const token = (await t.hub.tokens.issue({ role: "operator", name: "many-tabs", ttlSeconds: 3600 })).token;
    const aborts = Array.from({ length: MAX_STREAMS_PER_TOKEN + 5 }, () => new AbortController());
    // All at once: the count must hold for requests arriving together, too.
    const answers = await Promise.all(
      aborts.map((abort) =>
        fetch(`${t.hub.url}/api/v1/stream`, {
          headers: { authorization: `Bearer ${token}` },
          signal: abort.signal,
        }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(MAX_STREAMS_PER_TOKEN);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const refused = answers.find((res) => res.status === 429);
    expect(((await (refused as Response).json()) as { error: string }).error).toBe(
      `this token holds ${MAX_STREAMS_PER_TOKEN} event streams already (at most ${MAX_STREAMS_PER_TOKEN}); close one, or use another token`,
    );

    // Another token is not held back by this one.
    const other = await fetch(`${t.hub.url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${t.operator}` },
    });
    expect(other.status).toBe(200);
    await other.body?.cancel();

    // Closing one stream gives its place back.
    const open = answers.findIndex((res) => res.status === 200);
    aborts[open]?.abort();
    let again = 0;
    for (let i = 0; i < 50 && again !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(`${t.hub.url}/api/v1/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      again = res.status;
      await res.body?.cancel();
    }
    expect(again).toBe(200);
    for (const abort of aborts) abort.abort();
  });

  it("a listener that stops reading is owed only the newest id, not a message per change (its buffer stays bounded)", async () => {
    const socket = await rawStream(t.operator);
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // The stream's headers and first message, then the reader stops reading.
    for (let i = 0; i < 100 && !Buffer.concat(received).includes("event: changed"); i++)
      await new Promise((r) => setTimeout(r, 20));
    socket.pause();

    // 20,000 changes, each announced on its own (a wake per committed event, as a cluster's
    // NOTIFY does): ~1.5 MB of messages, far more than the sockets' buffers take.
    const changes = 20_000;
    for (let i = 0; i < changes; i++) {
      await t.hub.store.appendEvents([
        { at: Date.now(), kind: "test.change", actor: "test", subject: `s${i}`, data: {} },
      ]);
      await t.hub.wakeEventStream();
    }
    const newest = (await t.hub.store.listEvents({ limit: 1 }))[0]?.id;

    // The reader reads again: it gets what the sockets held, then the newest id once.
    const ended = closed(socket);
    socket.resume();
    let text = "";
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      text = Buffer.concat(received).toString();
      if (text.includes(`data: {"id":${newest}}`)) break;
    }
    socket.destroy();
    await ended;
    const messages = text.split("event: changed").length - 1;
    expect(text).toContain(`data: {"id":${newest}}`);
    // Without the bound every change was queued for this reader (all 20,000 arrive).
    expect(messages).toBeLessThan(changes / 2);
  }, 120_000);
});
