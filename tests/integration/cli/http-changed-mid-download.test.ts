/**
 * The release file is replaced on the server while `ship` downloads it, and the server ignores
 * If-Range (answers the resume with 206 and the rest of the NEW file, under its new ETag). ship
 * must not splice the two versions: it starts over and installs exactly the new release.
 */

import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

function release(version: string): Buffer {
  return gzipSync(
    buildTar([
      { path: "myapp/", type: "Directory" },
      { path: "myapp/update-manifest.yaml", body: `version: "${version}"\n` },
      // Different bytes per version so the halves of two versions cannot line up.
      { path: "myapp/data.txt", body: `${version}\n`.repeat(40_000) + Math.random() },
    ]),
  );
}

let server: TestServer;
let root: string;
const v2 = release("2.0.0");
const v3 = release("3.0.0");
/** Set by the first resume: until then, every full answer is 2.0.0 cut halfway (the probe too). */
let resumed = false;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-http-changed-"));
  server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== "/release.tar.gz") {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range !== null) {
      // If-Range ignored: the rest of whatever the file is now.
      const from = Number(range[1]);
      resumed = true;
      res.writeHead(206, {
        "content-length": v3.length - from,
        "content-range": `bytes ${from}-${v3.length - 1}/${v3.length}`,
        etag: '"v3"',
      });
      res.end(v3.subarray(from));
      return;
    }
    // 2.0.0, cut halfway; it is replaced by 3.0.0 right then.
    if (!resumed) {
      res.writeHead(200, { "content-length": v2.length, etag: '"v2"', "accept-ranges": "bytes" });
      res.write(v2.subarray(0, Math.floor(v2.length / 2)), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    res.writeHead(200, { "content-length": v3.length, etag: '"v3"', "accept-ranges": "bytes" });
    res.end(v3);
  });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a release replaced on the server mid-download, If-Range ignored", () => {
  it("ship starts over and installs exactly the new file", async () => {
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/old.txt"), "v1\n");
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${server.url}/release.tar.gz"\napp_dir = "${root}/app"\n`,
    );
    const run = await runShip(["--config", config]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("3.0.0");
    expect((await readFile(join(root, "app/data.txt"), "utf8")).startsWith("3.0.0\n")).toBe(true);
  }, 60_000);
});
