/**
 * review23: the agent's channel to the hub (ship agent, through a CONNECT tunnel) words a 407 with
 * proxyRefusalText, which always says "it wants credentials; give them in the variable" — also when
 * the variable holds the user and password the proxy just refused. ship's own downloads say
 * "refused the credentials in it (HTTP 407): check the user and password" (ff823c0c); the agent's
 * reconnect line should say the same.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { proxyRefusalText } from "../../../agent/download/proxy.js";
import { authSchemes } from "../../../agent/download/proxy-tunnel.js";
import { abortedTunnelStatus, gitProxyCredentialsError } from "../../../agent/sources/git-unreachable.js";

const saved = { ...process.env };
afterEach(() => {
  for (const k of ["https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY", "no_proxy", "NO_PROXY"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("proxyRefusalText 407", () => {
  it("does not ask for credentials the variable already holds", () => {
    for (const k of ["https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY"]) delete process.env[k];
    process.env.http_proxy = "http://u:wrong@127.0.0.1:3128";
    const text = proxyRefusalText("407") ?? "";
    expect(text).not.toMatch(/wants credentials; give them/);
    expect(text).toMatch(/refused the credentials/);
  });
});

/**
 * A proxy that takes only NTLM (a Windows domain's) answers 407 and closes: curl says only "Proxy
 * CONNECT aborted", ship asks the proxy itself, and said "refused the credentials in it: check the
 * user and password" of a password that was right. A real proxy on loopback, answering as such one does.
 */
describe("a proxy that takes only NTLM", () => {
  it("is said to take only NTLM/Negotiate, not to have refused the password; a Basic one still refuses it", async () => {
    let offer = "NTLM";
    const proxy = createServer((socket) => {
      socket.once("data", () =>
        socket.end(
          `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${offer}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        ),
      );
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const port = (proxy.address() as { port: number }).port;
      for (const k of ["https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY", "no_proxy", "NO_PROXY"])
        delete process.env[k];
      process.env.https_proxy = `http://u:right@127.0.0.1:${port}`;
      const git = "fatal: unable to access 'https://git.corp.example/app.git/': Proxy CONNECT aborted\n";
      const said = async () => {
        const aborted = await abortedTunnelStatus(git);
        return gitProxyCredentialsError(git, aborted?.status, aborted?.offeredSchemes)?.message ?? "";
      };
      offer = "NTLM\r\nProxy-Authenticate: Negotiate";
      expect(await said()).toBe(
        `the environment https_proxy: the proxy http://***@127.0.0.1:${port}/ (https_proxy) takes only NTLM or Negotiate authentication (HTTP 407), and ship sends credentials as Basic: have the proxy accept Basic for this host, or point the variable at a local proxy that does the login (cntlm, px)`,
      );
      offer = 'NTLM, Basic realm="corp"';
      expect(await said()).toMatch(/refused the credentials in it \(HTTP 407\)/);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it("reads the schemes of every challenge, not their parameters", () => {
    expect(authSchemes(['Basic realm="x", NTLM', "Negotiate"])).toEqual(["basic", "ntlm", "negotiate"]);
    expect(authSchemes('Digest realm="x", qop="auth", nonce="a,b"')).toEqual(["digest"]);
    expect(authSchemes(undefined)).toEqual([]);
  });
});
