/**
 * A `type = "https"` source is fetched over TLS: an http:// url is refused in the config. A
 * redirect took it there anyway: the https server answered 302 to plain http://, ship followed,
 * and installed whatever came over the unencrypted connection (exit 0), the `.sig` and a checksum
 * URL alike. An https request is no longer followed to plain http: exit 2 naming the url and where
 * it led, nothing installed. Real HTTPS and HTTP servers, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { startHttpServer, startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const release = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
    { path: "app.txt", body: "2.0.0\n" },
  ]),
);

describe.skipIf(!hasProgram("openssl"))("an https source redirected to plain http", () => {
  let root: string;
  let cert: TestCert;
  let tls: TestServer;
  let plain: TestServer;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-https-downgrade-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    cert = await makeTestCert(root);
    plain = await startHttpServer((req, res) => {
      if (req.url !== "/app.tar.gz") return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": String(release.length), etag: '"p"' }).end(release);
    });
    tls = await startHttpsServer((req, res) => {
      if (req.url === "/same/app.tar.gz")
        return void res
          .writeHead(200, { "content-length": String(release.length), etag: '"s"' })
          .end(release);
      if (req.url === "/moved/app.tar.gz")
        return void res.writeHead(302, { location: `${tls.url}/same/app.tar.gz` }).end();
      res.writeHead(302, { location: `${plain.url}/app.tar.gz` }).end();
    }, cert);
  });
  afterEach(async () => {
    await tls.close();
    await plain.close();
    await rm(root, { recursive: true, force: true });
  });

  const run = async (path: string) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "https"\nurl = "${tls.url}${path}"\nca_file = "${cert.caFile}"\napp_dir = "${root}/app"\n`,
    );
    return runShip(["--config", join(root, "ship.toml")]);
  };

  it("is refused, exit 2 naming where it led, with nothing fetched over http", async () => {
    const result = await run("/app.tar.gz");
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stdout).toContain(
      `web: ${tls.url}/app.tar.gz: redirects to plain ${plain.url}/app.tar.gz: an https:// request is not followed to http://, where the release would travel unencrypted`,
    );
    expect(plain.requests).toHaveLength(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  it("a redirect that stays on https is still followed", async () => {
    const result = await run("/moved/app.tar.gz");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("2.0.0\n");
  });
});
