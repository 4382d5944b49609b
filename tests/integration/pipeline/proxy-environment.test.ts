/**
 * An agent on a network whose only way out is a forward proxy (https_proxy / http_proxy /
 * no_proxy in its environment, as curl, git and pip read them). Notifications went straight to
 * the receiver, so every Slack message behind the proxy was lost ("no such host"); the hooks ran in
 * a clean environment without the proxy, so the seed's `pip install -r requirements.txt` failed
 * there. Real CLI, a real forward proxy on 127.0.0.1 that alone resolves the receiver's name.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const NAME = "hooks.corp.example";

describe("ship behind a forward proxy", () => {
  let app: LocalApp;
  let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
  let proxy: ForwardProxy;

  beforeEach(async () => {
    receiver = await webhookReceiver();
    proxy = await startForwardProxy({ hosts: { [`${NAME}:80`]: Number(new URL(receiver.url).port) } });
    app = await localApp();
  });
  afterEach(async () => {
    await Promise.all([receiver.close(), proxy.close()]);
    await app.cleanup();
  });

  it("sends the webhook through http_proxy, and hooks see the proxy variables", async () => {
    await app.release(
      "r1",
      [
        'version: "1.0.0"',
        "hooks:",
        "  post_update:",
        '    - "printf \'%s|%s|%s\' \\"$http_proxy\\" \\"$HTTPS_PROXY\\" \\"$no_proxy\\" > proxy.seen"',
        "notifications:",
        "  on_success:",
        "    - type: webhook",
        `      url: "http://${NAME}/hook"`,
        '      message: "installed {version}"',
        "",
      ].join("\n"),
    );
    const env = { http_proxy: proxy.url, HTTPS_PROXY: proxy.url, no_proxy: "localhost,127.0.0.1" };
    const run = await runShip(["--config", app.config], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(receiver.bodies.map((b) => b.text)).toEqual(["installed 1.0.0"]);
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toEqual([`POST http://${NAME}/hook`]);
    expect(await readFile(join(app.appDir, "proxy.seen"), "utf8"), run.stdout + run.stderr).toBe(
      `${proxy.url}|${proxy.url}|localhost,127.0.0.1`,
    );
  });
});
