/**
 * An operator behind a forward proxy sets https_proxy / http_proxy / no_proxy, as curl, git and apt
 * read them. ship's http(s) source went straight to the server, so on a network whose only way out
 * is the proxy every run failed with "no such host" or a timeout. Real CLI, a real CONNECT proxy
 * on 127.0.0.1 that alone resolves the release server's name, a real HTTPS server behind it.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { freePort } from "../../support/servers/free-port.js";
import { startHttpServer, startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { runShip } from "../../support/ship-cli.js";

const NAME = "releases.corp.example";

describe.skipIf(!hasProgram("openssl"))("an http(s) source behind a forward proxy", () => {
  let root: string;
  let archive: Buffer;
  let https: TestServer;
  let http: TestServer;
  let proxy: ForwardProxy;
  let caFile: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-http-proxy-"));
    await mkdir(join(root, "rel"));
    await writeFile(join(root, "rel", "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "rel", "app.txt"), "through the proxy\n");
    execFileSync("tar", ["czf", join(root, "rel.tar.gz"), "-C", join(root, "rel"), "."]);
    archive = await readFile(join(root, "rel.tar.gz"));
    const cert = await makeTestCert(root, `DNS:${NAME},IP:127.0.0.1`);
    caFile = cert.caFile;
    const serve: Parameters<typeof startHttpServer>[0] = (_req, res) => {
      res
        .writeHead(200, { "content-type": "application/gzip", "content-length": archive.length })
        .end(archive);
    };
    https = await startHttpsServer(serve, cert);
    http = await startHttpServer(serve);
    proxy = await startForwardProxy({
      hosts: {
        [`${NAME}:443`]: Number(new URL(https.url).port),
        [`${NAME}:80`]: Number(new URL(http.url).port),
      },
    });
  });
  afterAll(async () => {
    await Promise.all([https?.close(), http?.close(), proxy?.close()]);
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });

  /** `sourceKeys`: more keys for the source's table (`retries = 1` where the run fails on a dead proxy). */
  const run = async (url: string, env: NodeJS.ProcessEnv, sourceKeys = "") => {
    const dir = await mkdtemp(join(root, "run-"));
    await mkdir(join(dir, "app"));
    await writeFile(
      join(dir, "ship.toml"),
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${dir}/app"\ntype = "${url.startsWith("https") ? "https" : "http"}"\nurl = "${url}"\nca_file = "${caFile}"\n${sourceKeys}`,
    );
    const noProxy = {
      https_proxy: "",
      HTTPS_PROXY: "",
      http_proxy: "",
      HTTP_PROXY: "",
      no_proxy: "",
      NO_PROXY: "",
    };
    const result = await runShip(["--config", join(dir, "ship.toml")], { env: { ...noProxy, ...env } });
    const installed = await readFile(join(dir, "app", "app.txt"), "utf8").catch(() => undefined);
    return { ...result, installed };
  };

  it("https_proxy: the https download goes through a CONNECT tunnel and installs", async () => {
    const result = await run(`https://${NAME}/myapp.tar.gz`, { https_proxy: proxy.url });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.installed).toBe("through the proxy\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(`CONNECT ${NAME}:443`);
  });

  it("http_proxy (upper case too): an http download is sent to the proxy, absolute URI", async () => {
    const result = await run(`http://${NAME}/myapp.tar.gz`, { HTTP_PROXY: proxy.url });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.installed).toBe("through the proxy\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(`GET http://${NAME}/myapp.tar.gz`);
  });

  it("no_proxy: a host it names is reached directly", async () => {
    const result = await run(`${https.url}/myapp.tar.gz`, {
      https_proxy: proxy.url,
      no_proxy: "localhost,127.0.0.1",
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.installed).toBe("through the proxy\n");
    expect(proxy.requests).toEqual([]);
  });

  // undici compared every no_proxy entry as a name suffix: a CIDR range or `*` among other entries
  // never matched (the LAN's release server went through the proxy), and `.0.0.1` matched
  // 127.0.0.1, where curl and git (which share the variable) go through the proxy.
  it("no_proxy is read as curl reads it: CIDR ranges and `*` go direct, `.0.0.1` is no IP suffix", async () => {
    for (const noProxy of [
      "10.0.0.0/8,127.0.0.0/8",
      "localhost, *",
      `127.0.0.1:${new URL(https.url).port}`,
    ]) {
      proxy.requests.length = 0;
      const result = await run(`${https.url}/myapp.tar.gz`, { https_proxy: proxy.url, no_proxy: noProxy });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.installed).toBe("through the proxy\n");
      expect(proxy.requests, noProxy).toEqual([]);
    }
    for (const noProxy of [".0.0.1", "10.0.0.0/8", "127.0.0.1:1"]) {
      proxy.requests.length = 0;
      const result = await run(`${https.url}/myapp.tar.gz`, { https_proxy: proxy.url, no_proxy: noProxy });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(
        proxy.requests.map((r) => `${r.method} ${r.target}`),
        noProxy,
      ).toContain(`CONNECT 127.0.0.1:${new URL(https.url).port}`);
    }
  });

  // undici's EnvHttpProxyAgent sends https through http_proxy when https_proxy is unset; curl, git,
  // pip and apt do not, and the README says ship does as they do.
  it("http_proxy alone: an https download goes directly, not through it", async () => {
    const result = await run(`${https.url}/myapp.tar.gz`, { http_proxy: proxy.url });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.installed).toBe("through the proxy\n");
    expect(proxy.requests).toEqual([]);
  });

  it("a proxy written without a scheme is http://, as curl reads it; the variable is named as spelt", async () => {
    // undici threw "Invalid URL" for `host:port`: ship said "internal error: Invalid URL", exit 1.
    const bare = await run(`https://${NAME}/myapp.tar.gz`, { https_proxy: proxy.url.replace("http://", "") });
    expect(bare.code, bare.stdout + bare.stderr).toBe(0);
    expect(bare.installed).toBe("through the proxy\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(`CONNECT ${NAME}:443`);
    const port = await freePort();
    // A proxy that cannot be reached is retried with backoff (1, 2, 4 s at the default retries = 3):
    // one retry still ends in the same message, without waiting out the other 6 s.
    const upper = await run(
      `https://${NAME}/myapp.tar.gz`,
      { HTTPS_PROXY: `127.0.0.1:${port}` },
      "retries = 1\n",
    );
    expect(upper.code).toBe(1);
    expect(upper.stdout).toContain(`cannot reach the proxy http://127.0.0.1:${port}/ (HTTPS_PROXY)`);
  });

  it("a proxy ship's own requests cannot use (SOCKS, not a URL) is exit 2 naming the variable; nothing installed", async () => {
    for (const [value, said] of [
      ["socks5h://127.0.0.1:1080", "socks5h://127.0.0.1:1080 is a socks5h proxy"],
      ["http://ops:hunter 2@[proxy", "is not a URL (its value is not shown: it may hold a password)"],
    ] as const) {
      const result = await run(`https://${NAME}/myapp.tar.gz`, { https_proxy: value });
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stdout).toContain(
        `the environment https_proxy: ${said}: ship's own requests go through an http:// or https:// proxy only`,
      );
      expect(result.installed).toBeUndefined();
      expect(result.stdout + result.stderr).not.toContain("hunter");
    }
  });

  // A 407 was exit 1 "refused to pass the request on (HTTP 407): it wants credentials; give them in
  // the variable", also when the variable held the credentials the proxy had just refused.
  it("a proxy that wants credentials, or is down, is named with its variable, never the password", async () => {
    const strict = await startForwardProxy({ refuse: 407 });
    try {
      const at = `127.0.0.1:${new URL(strict.url).port}`;
      const withUser = strict.url.replace("http://", "http://ops:hunter2@");
      const refused = await run(`https://${NAME}/myapp.tar.gz`, { https_proxy: withUser });
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stdout).toContain(
        `myapp: the environment https_proxy: the proxy http://***@${at}/ (https_proxy) refused the credentials in it (HTTP 407): check the user and password`,
      );
      expect(refused.stdout + refused.stderr).not.toContain("hunter2");
      // 407 is no passing fault: asked once, not retried with backoff.
      expect(strict.requests.length).toBe(1);
      expect(refused.installed).toBeUndefined();
      const without = await run(`http://${NAME}/myapp.tar.gz`, { HTTP_PROXY: strict.url });
      expect(without.code, without.stdout + without.stderr).toBe(2);
      expect(without.stdout).toContain(
        `myapp: the environment HTTP_PROXY: the proxy http://${at}/ (HTTP_PROXY) wants credentials (HTTP 407): give them in the variable as http://user:password@host:port`,
      );
      expect(without.installed).toBeUndefined();
    } finally {
      await strict.close();
    }
    const port = await freePort();
    const down = await run(
      `http://${NAME}/myapp.tar.gz`,
      { http_proxy: `http://127.0.0.1:${port}` },
      "retries = 1\n",
    );
    expect(down.code).toBe(1);
    expect(down.stdout).toContain(
      `myapp: download of http://${NAME}/myapp.tar.gz failed: cannot reach the proxy http://127.0.0.1:${port}/ (http_proxy): connection refused (ECONNREFUSED)`,
    );
  });
});
