/**
 * A download's time limit (`max_download_seconds`) is elapsed time. It was counted on the wall
 * clock: NTP stepping it forward an hour while a server asked for a short Retry-After left the
 * download "no time" for it, and the run gave up at once ("past what … leaves"). A real HTTP server;
 * only the wall clock moves.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { downloadFile } from "../../../agent/download/download.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { steppedClocks } from "../../support/stepped-clocks.js";

describe("a download's time limit under a wall clock stepped forward", () => {
  let tmp: string;
  let server: TestServer;
  const body = Buffer.from("the release\n");

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-deadline-step-"));
    const shift = steppedClocks();
    let nth = 0;
    server = await startHttpServer((_req, res) => {
      nth++;
      if (nth === 1) {
        // The step comes while the client waits for this answer.
        shift.wall += 3_600_000;
        return void res.writeHead(503, { "retry-after": "1" }).end("busy");
      }
      res.writeHead(200, { "content-length": String(body.length) }).end(body);
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("waits the Retry-After the server asks for within the limit, and downloads", async () => {
    const dest = join(tmp, "out.bin");
    const result = await downloadFile({
      url: `${server.url}/app.tar.gz`,
      dest,
      deadlineMs: 30_000,
      deadlineSetting: "[sources.web] max_download_seconds",
      retryDelayMs: 0,
    });
    expect(result).toMatchObject({ status: "downloaded", bytes: body.length });
    expect(await readFile(dest)).toEqual(body);
  });
});
