/**
 * `ship release publish --hub https://hub.example.com/api/v1` (the API's address, copied from the
 * docs or a browser) sent every request to …/api/v1/api/v1/…, and the operator read the hub's
 * answer to a path it does not serve: "the hub refused (HTTP 415): content-type: must be
 * application/json". As `[hub] url` does, `--hub` is now refused first, exit 2, naming the flag,
 * and nothing is sent. Real CLI, a real HTTP server counting what reaches it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("ship release publish --hub with the API's path", () => {
  let root: string;
  let server: Server;
  let port = 0;
  let requests: string[];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-publish-path-"));
    requests = [];
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  it.each(["/api/v1", "/api/v1/", "/api/v1/agent"])(
    "%s: exit 2 naming --hub, no request sent",
    async (path) => {
      await writeFile(join(root, "update-manifest.yaml"), 'version: "1.0.0"\n');
      await createTar({ gzip: true, file: join(root, "web-1.0.0.tar.gz"), cwd: root }, [
        "update-manifest.yaml",
      ]);
      await writeFile(join(root, "ci.token"), "token\n", { mode: 0o600 });
      const run = await runShip([
        "release",
        "publish",
        "--hub",
        `http://127.0.0.1:${port}${path}`,
        "--token-file",
        join(root, "ci.token"),
        "--app",
        "web",
        "--version",
        "1.0.0",
        "--artifact",
        join(root, "web-1.0.0.tar.gz"),
      ]);
      expect(run.stderr).toBe(
        "ship release publish: --hub must be the hub's address without /api/v1 (ship adds /api/v1/… to its path)\n",
      );
      expect(run.code).toBe(2);
      expect(requests).toEqual([]);
    },
  );
});
