/**
 * A TCP relay on 127.0.0.1 that goes silent: it passes bytes both ways until `silentAfter` bytes
 * came back from the upstream, then passes nothing either way and closes nothing, as a network
 * cut with no reset or a hung server looks to the client.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface SilentRelay {
  port: number;
  close(): Promise<void>;
}

/** Relays to `port` until `silentAfter` bytes came back from it, then passes nothing either way. */
export async function silencingRelay(port: number, silentAfter: number): Promise<SilentRelay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: "127.0.0.1", port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
    }
    let back = 0;
    client.on("data", (d) => {
      if (back < silentAfter) upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (back >= silentAfter) return;
      back += d.length;
      client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay has no port");
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
