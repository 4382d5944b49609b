import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay to PostgreSQL that can go down (its connections cut, new ones refused) and come back
 * on the same port, as the database's address does across a restart. `atFirstQuery("cut")`: each
 * connection opened from then on is cut when the client sends its first query (after logging in),
 * as a database that goes away just as a connection is made; `"hold"`: that query and all after it
 * are held back, as a database that stops answering then.
 */
export async function startRelay(target: number): Promise<{
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  atFirstQuery(mode: "cut" | "hold" | "pass"): void;
  /** Connections cut or held so far by atFirstQuery. */
  stopped(): number;
  /** Bytes the clients have sent the database so far (what it had to read and parse). */
  sentBytes(): number;
}> {
  let atFirst: "cut" | "hold" | "pass" = "pass";
  let stopped = 0;
  let sent = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => sockets.delete(socket));
  };
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        track(client);
        const upstream = connect({ host: "127.0.0.1", port: target });
        track(upstream);
        upstream.once("close", () => client.destroy());
        client.once("close", () => upstream.destroy());
        upstream.pipe(client);
        client.on("data", (data: Buffer) => {
          sent += data.length;
        });
        const mode = atFirst;
        if (mode === "pass") client.pipe(upstream);
        else {
          // The startup message has no type byte; every message after it does: 'P' or 'Q' is a query.
          let pending = Buffer.alloc(0);
          let started = false;
          client.on("data", (data: Buffer) => {
            pending = Buffer.concat([pending, data]);
            for (;;) {
              const head = started ? 5 : 4;
              if (pending.length < head) break;
              const type = started ? String.fromCharCode(pending[0] as number) : "";
              if (type === "P" || type === "Q") {
                stopped++;
                client.removeAllListeners("data");
                if (mode === "cut") {
                  client.destroy();
                  upstream.destroy();
                }
                return;
              }
              const length = pending.readUInt32BE(started ? 1 : 0) + (started ? 1 : 0);
              if (pending.length < length) break;
              upstream.write(pending.subarray(0, length));
              pending = pending.subarray(length);
              started = true;
            }
          });
        }
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        resolve((s.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  return {
    port,
    async down() {
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async up() {
      await listen(port);
    },
    atFirstQuery(mode) {
      atFirst = mode;
    },
    stopped: () => stopped,
    sentBytes: () => sent,
  };
}
