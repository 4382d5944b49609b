/**
 * An upload that declares more bytes than the hub's max_artifact_mb is refused before a byte of it
 * is read: the hub read (and wrote to disk) up to the limit first, so a 5 GB artifact sent to a hub
 * that takes 4 GB ran for minutes, filling the disk, before its 413. Real hub, a raw socket that
 * declares the size and sends nothing more.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_UPLOADS_PER_TOKEN } from "../../../hub/api/artifacts.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ maxArtifactBytes: 2 << 20 });
});
afterAll(async () => {
  await t.stop();
});

describe("an upload that declares a size over max_artifact_mb", () => {
  it("is answered 413 naming the key at once, without waiting for its body", async () => {
    const { port } = new URL(t.hub.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          `PUT /api/v1/artifacts HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${t.ci}\r\nContent-Length: ${5 * 2 ** 30}\r\n\r\n`,
        );
      });
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (text.includes("}")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.once("error", reject);
      // Without the fix the hub waits for the 5 GB that never come.
      setTimeout(() => {
        socket.destroy();
        resolve(text === "" ? "no answer within 3 s" : text);
      }, 3000);
    });
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
    expect(answer).toContain(
      '"error":"body: the artifact is over the hub\'s max_artifact_mb = 2 (hub.toml)"',
    );
  });
});

/** An upload that declares `size` bytes and sends `sent` of them; resolves with the socket once it is under way. */
function slowUpload(
  token: string,
  size: number,
  sent: number,
): Promise<{ socket: Socket; answer: Promise<string> }> {
  const { port } = new URL(t.hub.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `PUT /api/v1/artifacts HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${size}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(sent, 1));
      resolve({ socket, answer });
    });
    const answer = new Promise<string>((done) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        done(text);
      });
      socket.once("close", () => done(text));
    });
    socket.once("error", reject);
  });
}

describe("uploads one token may have under way", () => {
  it(`at most ${MAX_UPLOADS_PER_TOKEN}: the next is a 429 saying why; another token is not held back`, async () => {
    const token = (await t.hub.tokens.issue({ role: "ci", name: "many-jobs", ttlSeconds: 3600 })).token;
    const held = [];
    for (let i = 0; i < MAX_UPLOADS_PER_TOKEN; i++) held.push(await slowUpload(token, 1 << 20, 1000));
    // Each is under way (its bytes keep the hub waiting for the rest); the next is refused at once.
    const next = await slowUpload(token, 1 << 20, 1000);
    const refused = await Promise.race([
      next.answer,
      new Promise<string>((r) => setTimeout(() => r("no answer within 3 s"), 3000)),
    ]);
    // Without the limit: no answer, the hub waiting for its body like the other 20.
    expect(refused.split("\r\n")[0]).toBe("HTTP/1.1 429 Too Many Requests");
    expect(refused).toContain(
      `this token has ${MAX_UPLOADS_PER_TOKEN} artifact uploads under way already (at most ${MAX_UPLOADS_PER_TOKEN}); finish or close one, or use another token`,
    );
    // Another token's upload goes through.
    const other = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}` },
      body: Buffer.from("another job"),
    });
    expect(other.status).toBe(201);
    for (const h of [...held, next]) h.socket.destroy();
  });
});
