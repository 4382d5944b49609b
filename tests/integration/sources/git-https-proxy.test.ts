/**
 * git over https behind the host's forward proxy. git honours https_proxy itself, but ship runs it
 * in an environment of its own (PATH, HOME, LANG and its GIT_* settings), which dropped the proxy:
 * on a network whose only way out is the proxy every fetch failed. Real git http-backend behind a
 * real HTTPS server whose name only the real CONNECT proxy on 127.0.0.1 resolves.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import { GitSource as GitSourceConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { freePort } from "../../support/servers/free-port.js";
import { startGitHttpsServer } from "../../support/servers/git-http.js";
import type { TestServer } from "../../support/servers/http-server.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { commitFiles, git, makeRepos, type Repos } from "./git-repos.js";

const NAME = "git.corp.example";

describe.skipIf(!hasProgram("git") || !hasProgram("openssl"))("GitSource over https behind a proxy", () => {
  let tmp: string;
  let server: TestServer;
  let proxy: ForwardProxy;
  let repos: Repos;
  const saved = process.env.https_proxy;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-git-proxy-"));
    const cert = await makeTestCert(tmp, `DNS:${NAME}`);
    repos = await makeRepos(join(tmp, "repos"));
    server = await startGitHttpsServer(dirname(repos.bare), cert);
    proxy = await startForwardProxy({ hosts: { [`${NAME}:443`]: Number(new URL(server.url).port) } });
    await git(repos.clone, "remote", "set-url", "origin", `https://${NAME}/origin.git`);
    await git(repos.clone, "config", "http.sslCAInfo", cert.caFile);
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.https_proxy;
    else process.env.https_proxy = saved;
  });
  afterAll(async () => {
    await Promise.all([server?.close(), proxy?.close()]);
    await rm(tmp, { recursive: true, force: true });
  });

  it("fetches through the CONNECT proxy https_proxy names and installs the new commit", async () => {
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2 through the proxy\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    process.env.https_proxy = proxy.url;
    const src = createSource(
      "app",
      GitSourceConfig.parse({ type: "git", app_dir: join(tmp, "app"), local_path: repos.clone }),
      { stateDir: join(tmp, "state"), log: memoryLogger(), retryDelayMs: 0 },
    );
    expect(await src.check()).toMatchObject({ available: true });
    const stage = await mkdtemp(join(tmp, "stage-"));
    expect((await src.fetch(stage)).id).toBe(v2);
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2 through the proxy\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(`CONNECT ${NAME}:443`);
  });

  it("a proxy that is down, or wants credentials, is named as the proxy with its variable, not as the git server", async () => {
    const check = async (proxyUrl: string) => {
      process.env.https_proxy = proxyUrl;
      const src = createSource(
        "app",
        GitSourceConfig.parse({ type: "git", app_dir: join(tmp, "app"), local_path: repos.clone }),
        { stateDir: join(tmp, "state-failing"), log: memoryLogger(), retryDelayMs: 0 },
      );
      return String(await src.check().catch((e: unknown) => e));
    };
    const port = await freePort();
    // It read "cannot reach the git server at 127.0.0.1 port N": the proxy's address.
    expect(await check(`http://ops:hunter2@127.0.0.1:${port}`)).toBe(
      `DownloadError: download of origin (https://${NAME}/origin.git) failed: cannot reach the proxy http://***@127.0.0.1:${port}/ (https_proxy) that git goes through: Couldn't connect to server`,
    );
    const strict = await startForwardProxy({ refuse: 407 });
    try {
      // It was a passing fault (three tries, exit 1) "it wants credentials", also of credentials
      // the variable held.
      expect(await check(strict.url)).toBe(
        `BadInputError: the environment https_proxy: the proxy ${strict.url}/ (https_proxy) wants credentials (HTTP 407): give them in the variable as http://user:password@host:port`,
      );
      // Asked once: no retry.
      expect(strict.requests.length).toBe(1);
      // A proxy that closes the connection after its first 407 (no keep-alive): curl could not send
      // the credentials and said only "Proxy CONNECT aborted"; it was a passing fault (three
      // fetches, exit 1). ship asks the proxy once itself, with the credentials, for its status.
      strict.requests.length = 0;
      const withCredentials = strict.url.replace("http://", "http://ops:wrong@");
      expect(await check(withCredentials)).toBe(
        `BadInputError: the environment https_proxy: the proxy http://***@${strict.url.slice("http://".length)}/ (https_proxy) refused the credentials in it (HTTP 407): check the user and password (%-encode @ : / in them)`,
      );
      expect(strict.requests.map((r) => r.headers["proxy-authorization"] !== undefined)).toEqual([
        false,
        true,
      ]);
    } finally {
      await strict.close();
    }
  });
});
