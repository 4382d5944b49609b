/**
 * `ship agent` on a host whose only way out is a forward proxy. The agent channel went straight to
 * the hub whatever https_proxy said, so such an agent never got online ("no such host",
 * reconnecting for ever) while its downloads went through the proxy. A real TLS WebSocket server
 * plays the hub under a name only the real CONNECT proxy resolves (real CLI).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { hasProgram } from "../../support/require-program.js";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";

const NAME = "hub.corp.example";

describe.skipIf(!hasProgram("openssl"))("ship agent behind a forward proxy", () => {
  let root: string;
  let server: Server | undefined;
  let proxy: ForwardProxy | undefined;
  let agent: ChildProcess | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-hub-proxy-"));
  });
  afterEach(async () => {
    agent?.kill("SIGKILL");
    await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
    server?.closeAllConnections();
    await proxy?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function start(proxyOptions: { refuse?: number }) {
    const cert = await makeTestCert(root, `DNS:${NAME}`);
    server = createServer({ cert: cert.cert, key: cert.key });
    const channel = new WebSocketServer({ server, path: "/api/v1/agent" });
    const hello = new Promise<{ type: string; agentId: string }>((resolve) =>
      channel.on("connection", (socket) =>
        socket.once("message", (data) => resolve(JSON.parse(String(data)))),
      ),
    );
    await new Promise<void>((ready) => server?.listen(0, "127.0.0.1", ready));
    const port = (server.address() as AddressInfo).port;
    proxy = await startForwardProxy({ hosts: { [`${NAME}:${port}`]: port }, ...proxyOptions });
    await mkdir(join(root, "app"));
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n[hub]\nurl = "https://${NAME}:${port}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\nca_file = "${cert.caFile}"\n\n[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
    );
    const log = { text: "" };
    const env: NodeJS.ProcessEnv = { ...process.env, https_proxy: proxy.url, no_proxy: "" };
    delete env.HTTPS_PROXY;
    delete env.NO_PROXY;
    agent = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    const take = (chunk: Buffer) => {
      log.text += chunk.toString();
    };
    agent.stdout?.on("data", take);
    agent.stderr?.on("data", take);
    return { hello, log, port };
  }

  it("opens the agent channel through the CONNECT tunnel https_proxy names, TLS verified inside", async () => {
    const { hello, log, port } = await start({});
    const said = await Promise.race([
      hello,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000)),
    ]);
    expect(said, log.text).toMatchObject({ type: "hello", agentId: "a1" });
    expect(proxy?.requests.map((r) => `${r.method} ${r.target}`)).toContain(`CONNECT ${NAME}:${port}`);
  });

  it("a proxy that refuses the tunnel is named with its variable in the reconnect line", async () => {
    const { log } = await start({ refuse: 403 });
    await waitFor("a reconnect line", async () => log.text.includes("reconnecting"), {
      timeoutMs: 20_000,
      intervalMs: 50,
      where: "ship agent output",
    });
    const line = log.text.split("\n").find((l) => l.includes("reconnecting")) ?? "";
    expect(JSON.parse(line).msg).toBe(
      `hub connection failed: the proxy ${proxy?.url}/ (https_proxy) refused to pass the request on (HTTP 403); reconnecting`,
    );
  });
});
