import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay to PostgreSQL that can go down (its connections cut, new ones refused) and come back
 * on the same port, as the database's address does across a restart.
 */
export async function startRelay(
  target: number,
): Promise<{ port: number; down(): Promise<void>; up(): Promise<void> }> {
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
        client.pipe(upstream).pipe(client);
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
  };
}
