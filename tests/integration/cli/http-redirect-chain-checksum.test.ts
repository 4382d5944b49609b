/**
 * A stable url that redirects twice: `…/latest.tar.gz` → `…/releases/myapp-1.2.3.tar.gz` (the
 * name a SHA256SUMS lists) → the object store's blob (`/blobs/9f2c…?sig=…`, as an artifact
 * repository or a CDN hands out). The README promises the name "the url a redirect leads to" is
 * looked for too; ship matched only the url's own name and the last hop's, so a right SHA256SUMS
 * was exit 2 "no sha256 for latest.tar.gz or 9f2c… in the checksum file; it lists …,
 * myapp-1.2.3.tar.gz". Every name the release went by on the way is matched. Real server, real `ship`.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { type FileRoute, redirectingFileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const archive = gzipSync(appRelease("1.2.3"));
const blob = `/blobs/${sha(archive).slice(0, 16)}`;
const routes = new Map<string, FileRoute>([
  [blob, { body: archive, etag: '"1.2.3"' }],
  [
    "/releases/SHA256SUMS",
    { body: `${sha("other")}  myapp-1.2.2.tar.gz\n${sha(archive)}  myapp-1.2.3.tar.gz\n` },
  ],
]);
const redirects = new Map<string, string>([
  ["/latest.tar.gz", "/releases/myapp-1.2.3.tar.gz"],
  ["/releases/myapp-1.2.3.tar.gz", `${blob}?sig=abc`],
]);

let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer(redirectingFileRoutes(routes, redirects));
  root = await mkdtemp(join(tmpdir(), "ship-http-redirect-chain-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a stable url that redirects through the versioned name to a blob", () => {
  it("a SHA256SUMS listing the versioned name verifies it: installed", async () => {
    const keys = `checksum = "${server.url}/releases/SHA256SUMS"\nretries = 0\n`;
    const { config, app } = await httpApp(join(root, "chain"), `${server.url}/latest.tar.gz`, keys);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("installed 1.2.3");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.2.3\n");
  });
});
