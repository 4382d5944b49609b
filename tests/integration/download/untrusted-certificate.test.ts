/**
 * An https server whose certificate this host cannot verify: an internal CA and no `ca_file`, a
 * `ca_file` that is not the CA that signed it, a url naming a host the certificate is not for.
 * Each was exit 1 "download failed: unable to verify the first certificate (…)" on every run, as
 * if the network might heal, naming no key. No retry fixes it: exit 2 naming the key to change,
 * nothing installed, and the right `ca_file` installs. Real HTTPS server, real openssl certs, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const release = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
    { path: "app.txt", body: "2.0.0\n" },
  ]),
);

describe.skipIf(!hasProgram("openssl"))("an https source whose server certificate is not trusted", () => {
  let root: string;
  let server: TestServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-untrusted-cert-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
  });
  afterEach(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  const serve = async (cert: TestCert) => {
    server = await startHttpsServer((_req, res) => {
      res.writeHead(200, { "content-length": String(release.length), etag: '"r"' }).end(release);
    }, cert);
    return `${server.url}/app.tar.gz`;
  };
  const run = async (url: string, extra: string, args: string[] = []) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "https"\nurl = "${url}"\napp_dir = "${root}/app"\n${extra}`,
    );
    return runShip(["--config", join(root, "ship.toml"), ...args], { timeoutMs: 40_000 });
  };
  const appText = () => readFile(join(root, "app/app.txt"), "utf8");

  it("signed by a CA this host does not trust: exit 2 naming ca_file, in a run and in --check-only", async () => {
    const cert = await makeTestCert(await mkdtemp(join(root, "ca-")));
    const url = await serve(cert);
    for (const args of [[], ["--check-only"]]) {
      const refused = await run(url, "", args);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stdout).toContain(
        `web: ${root}/ship.toml sources.web.ca_file: ${url}: the server's certificate is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); set ca_file to the certificate (PEM) of the CA that signed it`,
      );
    }
    expect(await appText()).toBe("1.0.0\n");

    // Another CA's certificate in ca_file: named as not the one that signed the server's.
    const other = await makeTestCert(await mkdtemp(join(root, "other-")));
    const wrong = await run(url, `ca_file = "${other.caFile}"\n`);
    expect(wrong.code, wrong.stdout + wrong.stderr).toBe(2);
    expect(wrong.stdout).toContain(
      `web: ${root}/ship.toml sources.web.ca_file: ${url}: the server's certificate is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); ca_file ${other.caFile} is not that CA's certificate`,
    );
    expect(await appText()).toBe("1.0.0\n");

    const fixed = await run(url, `ca_file = "${cert.caFile}"\n`);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await appText()).toBe("2.0.0\n");
  });

  // The names the certificate is for: what url must say (it read only "not for this host name").
  it("for another host name than the url's: exit 2 naming url and the names the certificate is for", async () => {
    const cert = await makeTestCert(await mkdtemp(join(root, "ca-")), "DNS:elsewhere.example");
    const url = await serve(cert);
    const refused = await run(url, `ca_file = "${cert.caFile}"\n`);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain(
      `web: ${root}/ship.toml sources.web.url: ${url}: the server's certificate is not for this host name (ERR_TLS_CERT_ALTNAME_INVALID): it is for DNS:elsewhere.example; name the server in url as its certificate does`,
    );
    expect(await appText()).toBe("1.0.0\n");
  });
});
