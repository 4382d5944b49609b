/**
 * A hub peer whose every move the test makes: a real HTTP server on 127.0.0.1 that serves release
 * archives and accepts the agent's WebSocket, recording what the agent sends. Tests use it where
 * the real hub would decide for them (re-sending an instruction, withholding an ack).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { create as createTar } from "tar";
import { type WebSocket, WebSocketServer } from "ws";
import { AgentMessage, type HubMessage } from "../../../shared/protocol/messages.js";

export class ScriptedHub {
  readonly received: AgentMessage[] = [];
  readonly artifactRequests: { path: string; authorization: string | undefined }[] = [];
  private readonly artifacts = new Map<string, Buffer>();
  private socket: WebSocket | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {}

  /** `maxPayload`: the largest message taken, as the hub's `max_message_kb` sets it (ws closes with 1009). */
  static async start(options: { maxPayload?: number } = {}): Promise<ScriptedHub> {
    const wss = new WebSocketServer({
      noServer: true,
      ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
    });
    const server = createServer();
    const hub = new ScriptedHub(server, wss);
    server.on("request", (req, res) => {
      hub.artifactRequests.push({ path: req.url ?? "", authorization: req.headers.authorization });
      const body = hub.artifacts.get(req.url ?? "");
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    server.on("upgrade", (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        hub.socket = ws;
        // An oversize message (maxPayload) closes the socket with 1009, as at the real hub.
        ws.on("error", () => undefined);
        ws.on("message", (data) => {
          hub.received.push(AgentMessage.parse(JSON.parse(data.toString())));
          for (const w of hub.waiters.splice(0)) w();
        });
        for (const w of hub.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serves `file` at `path`; returns its sha256. */
  async serve(path: string, file: string): Promise<string> {
    const body = await readFile(file);
    this.artifacts.set(path, body);
    return createHash("sha256").update(body).digest("hex");
  }

  /**
   * Packs the release tree `tree` (a writeRelease output named for its version), serves it as
   * `/<version>.tar.gz` and, once the agent said hello, sends it as deployment d-2 / release r-2
   * of `app`: the deploy the daemon tests answer.
   */
  async deployTarball(tree: string, app: string, version: string): Promise<void> {
    await createTar({ gzip: true, file: `${tree}.tar.gz`, cwd: tree, portable: true }, ["."]);
    const sha256 = await this.serve(`/${version}.tar.gz`, `${tree}.tar.gz`);
    await this.until("hello", () => this.messages("hello").length > 0);
    this.send({
      type: "deploy",
      v: 1,
      deploymentId: "d-2",
      app,
      rollback: false,
      release: {
        id: "r-2",
        app,
        version,
        manifest: await readFile(join(tree, "update-manifest.yaml"), "utf8"),
        source: { type: "http", url: `${this.url}/${version}.tar.gz`, sha256 },
      },
    });
  }

  send(message: HubMessage): void {
    if (this.socket === undefined) throw new Error("no agent connected");
    this.socket.send(JSON.stringify(message));
  }

  /** Drops the agent's connection, as a hub restart or a network cut would. */
  disconnect(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  messages<K extends AgentMessage["type"]>(type: K): Extract<AgentMessage, { type: K }>[] {
    return this.received.filter((m): m is Extract<AgentMessage, { type: K }> => m.type === type);
  }

  async until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    await new Promise<void>((ok) => {
      this.server.close(() => ok());
      this.server.closeAllConnections();
    });
  }
}
