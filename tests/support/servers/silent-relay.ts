/**
 * TCP relays on 127.0.0.1 that make a server look unwell to the client: one goes silent (passes
 * bytes both ways until `silentAfter` came back from the upstream, then nothing either way, closing
 * nothing, as a network cut with no reset or a hung server looks), one is slow (passes what comes
 * back at a fixed trickle, as a congested or throttled link).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface SilentRelay {
  port: number;
  close(): Promise<void>;
}

/** Relays to `port` until `silentAfter` bytes came back from it, then passes nothing either way. */
export function silencingRelay(port: number, silentAfter: number): Promise<SilentRelay> {
  return relay(port, (client, upstream) => {
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
}

export interface SilenceableRelay extends SilentRelay {
  /**
   * Every connection open now passes nothing more either way and is closed by neither side, as
   * when a NAT or firewall on the path lost its state; connections opened afterwards pass. The
   * number silenced.
   */
  silenceOpen(): number;
  /** Connections silenced by silenceOpen that the client has not closed yet. */
  silencedOpen(): number;
}

/** Relays to `port` until silenceOpen(). */
export async function silenceableRelay(port: number): Promise<SilenceableRelay> {
  const open = new Set<{ silent: boolean }>();
  const relayed = await relay(port, (client, upstream) => {
    const state = { silent: false };
    open.add(state);
    client.on("data", (d) => state.silent || upstream.write(d));
    upstream.on("data", (d) => state.silent || client.write(d));
    client.on("close", () => {
      open.delete(state);
      upstream.destroy();
    });
    upstream.on("close", () => state.silent || client.destroy());
  });
  return {
    ...relayed,
    silenceOpen() {
      for (const state of open) state.silent = true;
      return open.size;
    },
    silencedOpen: () => [...open].filter((state) => state.silent).length,
  };
}

/** Relays to `port`, passing what comes back at `bytesPerSecond` (in 50 ms steps). */
export function throttledRelay(port: number, bytesPerSecond: number): Promise<SilentRelay> {
  const step = Math.max(1, Math.floor(bytesPerSecond / 20));
  return relay(port, (client, upstream) => {
    client.on("data", (d) => upstream.write(d));
    let held = Buffer.alloc(0);
    upstream.on("data", (d) => {
      held = Buffer.concat([held, d]);
      upstream.pause();
    });
    const tick = setInterval(() => {
      if (held.length === 0) return void upstream.resume();
      client.write(held.subarray(0, step));
      held = held.subarray(step);
    }, 50);
    client.on("close", () => clearInterval(tick));
  });
}

async function relay(port: number, wire: (client: Socket, upstream: Socket) => void): Promise<SilentRelay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: "127.0.0.1", port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
    }
    wire(client, upstream);
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
