/**
 * A TCP load balancer on 127.0.0.1, as HAProxy or a cloud balancer stands in front of several
 * hubs: each new connection goes to the next upstream in turn, skipping one that refuses; when
 * either side closes, the other is closed too, so an agent whose hub died sees its connection end
 * and reconnects (through the balancer, to a live hub). Plain TCP, so HTTP, WebSocket upgrades and
 * SSE pass through untouched.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface TcpBalancer {
  port: number;
  url: string;
  /** Connections handed to each upstream port so far. */
  readonly accepted: Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(upstreamPorts: () => readonly number[]): Promise<TcpBalancer> {
  const accepted = new Map<number, number>();
  const sockets = new Set<Socket>();
  let turn = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  /** Tries the upstreams from the next in turn; undefined when none accepts. */
  const connectUpstream = async (): Promise<Socket | undefined> => {
    const ports = upstreamPorts();
    for (let i = 0; i < ports.length; i++) {
      const port = ports[(turn + i) % ports.length] as number;
      const upstream = await new Promise<Socket | undefined>((resolve) => {
        const socket = tcpConnect({ host: "127.0.0.1", port });
        socket.once("connect", () => resolve(socket));
        socket.once("error", () => resolve(undefined));
      });
      if (upstream) {
        turn = (turn + i + 1) % ports.length;
        accepted.set(port, (accepted.get(port) ?? 0) + 1);
        return upstream;
      }
    }
    return undefined;
  };

  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    client.on("error", () => client.destroy());
    connectUpstream().then(
      (upstream) => {
        if (!upstream || client.destroyed) {
          upstream?.destroy();
          client.destroy();
          return;
        }
        track(upstream);
        upstream.on("error", () => upstream.destroy());
        // A killed hub's socket ends or resets: end the client's too, as a balancer does.
        upstream.once("close", () => client.destroy());
        client.once("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
