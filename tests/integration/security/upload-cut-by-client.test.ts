/**
 * A CI upload cut by its client before the last byte (a job cancelled, a link cut): the hub logged
 * it as an ERROR, "request failed … Error: aborted", through the line it keeps for an unreachable
 * database (the error's code is ECONNRESET), so a real outage's first line that minute was only
 * counted. Nothing is wrong with the hub: said at INFO, and nothing of the upload stays.
 * Real hub (in process), a raw TCP client.
 */

import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { expect, it } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { startTestHub } from "../hub/support.js";

it("an upload its client cuts is said at INFO, not as a failed request, and leaves nothing", async () => {
  const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
  const t = await startTestHub({ log: memoryLogger(lines) });
  try {
    const socket = connect(Number(new URL(t.hub.url).port), "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      `PUT /api/v1/artifacts HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${t.ci}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${8 << 20}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(1 << 20, 7));
    // Part of it is in (the upload's file exists), then the client goes.
    await expect
      .poll(() => readdir(join(t.dir, "artifacts")).catch(() => []), { timeout: 10_000 })
      .toHaveLength(1);
    socket.destroy();
    await expect
      .poll(() => lines.find((l) => l.msg.startsWith("artifact upload closed")), { timeout: 10_000 })
      .toMatchObject({ level: "info", msg: "artifact upload closed before its end; nothing was kept" });
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
    await expect.poll(() => readdir(join(t.dir, "artifacts")), { timeout: 10_000 }).toEqual([]);
  } finally {
    await t.stop();
  }
});
