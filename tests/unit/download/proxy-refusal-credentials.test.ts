/**
 * review23: the agent's channel to the hub (ship agent, through a CONNECT tunnel) words a 407 with
 * proxyRefusalText, which always says "it wants credentials; give them in the variable" — also when
 * the variable holds the user and password the proxy just refused. ship's own downloads say
 * "refused the credentials in it (HTTP 407): check the user and password" (ff823c0c); the agent's
 * reconnect line should say the same.
 */
import { afterEach, describe, expect, it } from "vitest";
import { proxyRefusalText } from "../../../agent/download/proxy.js";

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
