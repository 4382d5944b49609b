/**
 * `ship release publish` from a CI runner whose only way out is a forward proxy (http_proxy /
 * https_proxy, as curl and git there read them): the request went straight to the hub and failed
 * with "no such host". Real hub, a real forward proxy on 127.0.0.1 that alone resolves its name.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { startTestHub, type TestHub } from "../hub/support.js";
import { runRelease } from "./run-cli.js";

const NAME = "hub.corp.example";

describe("ship release publish through a forward proxy (real hub)", () => {
  let dir: string;
  let hub: TestHub;
  let proxy: ForwardProxy;
  const saved = process.env.http_proxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-publish-proxy-"));
    hub = await startTestHub({}, join(dir, "hub"));
    await writeFile(join(dir, "ci.token"), `${hub.ci}\n`);
    proxy = await startForwardProxy({ hosts: { [`${NAME}:80`]: Number(new URL(hub.hub.url).port) } });
    await mkdir(join(dir, "myapp"));
    await writeFile(join(dir, "myapp", "main.py"), "print('v1')\n");
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.http_proxy;
    else process.env.http_proxy = saved;
    await Promise.all([hub?.stop(), proxy?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("uploads and registers the release through http_proxy", async () => {
    const app = join(dir, "myapp");
    expect((await runRelease(app, "http", "1.0.0", "First", "--out", "../dist")).code).toBe(0);
    process.env.http_proxy = proxy.url;
    const published = await runRelease(
      app,
      "publish",
      ...["--hub", `http://${NAME}`, "--token-file", join(dir, "ci.token"), "--app", "myapp"],
      ...["--version", "1.0.0", "--artifact", join(dir, "dist/myapp-1.0.0.tar.gz")],
    );
    expect(published.err).toBe("");
    expect(published.code).toBe(0);
    expect(proxy.requests.map((r) => r.method)).toContain("POST");
    expect(proxy.requests.every((r) => r.target.startsWith(`http://${NAME}/api/v1/`))).toBe(true);
  });
});
