/**
 * `[hub] ca_file` trusts the private CA of a hub behind TLS (the README's reverse proxy). The agent
 * used it for artifact downloads only: the agent channel itself was opened without it, so an agent
 * whose hub certificate came from that CA never got online, reconnecting for ever with "unable to
 * get local issuer certificate". A real TLS WebSocket server on loopback plays the hub (real CLI).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";

describe("ship agent with [hub] ca_file", () => {
  let root: string;
  let server: Server | undefined;
  let agent: ChildProcess | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-hub-ca-"));
  });
  afterEach(async () => {
    agent?.kill("SIGKILL");
    await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
    server?.closeAllConnections();
    await rm(root, { recursive: true, force: true });
  });

  /** A TLS hub (its certificate from a throwaway CA) and `ship agent` pointed at it. */
  async function start(trustCa: boolean, names?: string, days?: number) {
    const cert = await makeTestCert(root, names, days);
    server = createServer({ cert: cert.cert, key: cert.key });
    const channel = new WebSocketServer({ server, path: "/api/v1/agent" });
    const hello = new Promise<{ type: string; agentId: string }>((resolve) =>
      channel.on("connection", (socket) =>
        socket.once("message", (data) => resolve(JSON.parse(String(data)))),
      ),
    );
    await new Promise<void>((ready) => server?.listen(0, "127.0.0.1", ready));
    const port = (server.address() as AddressInfo).port;
    await mkdir(join(root, "app"));
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n[hub]\nurl = "https://127.0.0.1:${port}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\n${trustCa ? `ca_file = "${cert.caFile}"\n` : ""}\n[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
    );
    const log = { text: "" };
    agent = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (chunk: Buffer) => {
      log.text += chunk.toString();
    };
    agent.stdout?.on("data", take);
    agent.stderr?.on("data", take);
    return { hello, log };
  }

  it("opens the agent channel trusting that CA, and says hello", async () => {
    const { hello, log } = await start(true);
    const said = await Promise.race([
      hello,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000)),
    ]);
    expect(said, log.text).toMatchObject({ type: "hello", agentId: "a1" });
    expect(log.text).not.toContain("reconnecting");
  });

  it("without it, each reconnect line names the key that fixes it", async () => {
    const { log } = await start(false);
    await waitFor("a reconnect line", async () => log.text.includes("reconnecting"), {
      timeoutMs: 15_000,
      intervalMs: 50,
      where: "ship agent output",
    });
    const line = log.text.split("\n").find((l) => l.includes("reconnecting")) ?? "";
    expect(JSON.parse(line).msg).toMatch(
      /^hub connection failed: .*certificate.*: the hub's certificate is not from a CA this agent trusts \(a private CA: name its certificate in \[hub\] ca_file\); reconnecting$/,
    );
  });

  it("a certificate for another name: each reconnect line names [hub] url and the names it is for", async () => {
    const { log } = await start(true, "DNS:hub.example.org");
    await waitFor("a reconnect line", async () => log.text.includes("reconnecting"), {
      timeoutMs: 15_000,
      intervalMs: 50,
      where: "ship agent output",
    });
    const line = log.text.split("\n").find((l) => l.includes("reconnecting")) ?? "";
    expect(JSON.parse(line).msg).toMatch(
      /^hub connection failed: the hub's certificate is not for 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID; it is for hub\.example\.org\): name the hub in \[hub\] url as its certificate does; reconnecting$/,
    );
  });

  it("an expired certificate: each reconnect line says so and where to renew it", async () => {
    const { log } = await start(true, undefined, 0);
    await waitFor("a reconnect line", async () => log.text.includes("reconnecting"), {
      timeoutMs: 15_000,
      intervalMs: 50,
      where: "ship agent output",
    });
    const line = log.text.split("\n").find((l) => l.includes("reconnecting")) ?? "";
    expect(JSON.parse(line).msg).toMatch(
      /^hub connection failed: the hub's certificate has expired \(CERT_HAS_EXPIRED\): renew it where the hub's TLS ends/,
    );
  });
});
