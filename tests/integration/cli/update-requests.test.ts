/**
 * What `ship` and `ship --check-only` cost a release server, counted at a real HTTPS server: a
 * check that finds nothing is one conditional GET answered 304; a check that finds a release and
 * an update are each that one GET, answered 200 and read once (a check-only used to ask again for
 * the archive to read its manifest: two GETs of the whole release).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const release = (version: string, manifest = "") =>
  gzipSync(
    buildTar([
      { path: `myapp-${version}/app.txt`, body: `app ${version}\n`.repeat(5000) },
      // Last in the archive: what --check-only needs is at its end.
      { path: `myapp-${version}/update-manifest.yaml`, body: `version: "${version}"\n${manifest}` },
    ]),
  );

describe.skipIf(!hasProgram("openssl"))("requests a run and a check make to an https source", () => {
  const routes = new Map<string, FileRoute>();
  let server: TestServer;
  let root: string;
  let config: string;
  let app: string;
  const archiveGets = () => server.requests.filter((r) => r.path === "/app.tar.gz");

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-update-requests-"));
    server = await startHttpsServer(fileRoutes(routes), await makeTestCert(root));
    app = join(root, "app");
    await mkdir(app);
    config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "https"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${app}"\nca_file = "${root}/ca.pem"\n`,
    );
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("check-only and update each cost one GET of the archive; up to date costs one 304", async () => {
    routes.set("/app.tar.gz", { body: release("1.0.0"), etag: '"v1"' });
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(archiveGets()).toHaveLength(1);

    server.requests.length = 0;
    const current = await runShip(["--config", config, "--check-only"]);
    expect(current.code, current.stdout + current.stderr).toBe(0);
    expect(server.requests.map((r) => r.headers["if-none-match"])).toEqual(['"v1"']);

    routes.set("/app.tar.gz", { body: release("2.0.0"), etag: '"v2"' });
    server.requests.length = 0;
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toMatch(/^update\s+web: update available at https:.*\("v2"\)$/m);
    expect(server.requests.map((r) => [r.path, r.headers["if-none-match"]])).toEqual([
      ["/app.tar.gz", '"v1"'],
    ]);

    server.requests.length = 0;
    const update = await runShip(["--config", config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toContain("app 2.0.0");
    expect(server.requests.map((r) => r.path)).toEqual(["/app.tar.gz"]);
  }, 180_000);

  it("a check-only the manifest stops (a conditional that skips the update) costs the one GET too", async () => {
    routes.set("/app.tar.gz", {
      body: release(
        "3.0.0",
        `conditionals:\n  - condition: "file_exists('.maintenance')"\n    action: "skip_update"\n    message: "maintenance"\n`,
      ),
      etag: '"v3"',
    });
    await writeFile(join(app, ".maintenance"), "");
    server.requests.length = 0;
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^waits\s+web: update skipped on purpose: maintenance$/m);
    expect(archiveGets()).toHaveLength(1);
  });
});
