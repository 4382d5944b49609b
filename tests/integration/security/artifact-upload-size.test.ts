/**
 * An upload that declares more bytes than the hub's max_artifact_mb is refused before a byte of it
 * is read: the hub read (and wrote to disk) up to the limit first, so a 5 GB artifact sent to a hub
 * that takes 4 GB ran for minutes, filling the disk, before its 413. Real hub, a raw socket that
 * declares the size and sends nothing more.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
