/**
 * Connections without a request need no credential: one client held 15,000 of them open on a real
 * hub (110 MB, a descriptor each; under a 1,024-descriptor limit the hub refused every agent and
 * `/healthz` after 1,000). Past 256 idle for more than 10 s from one address, that address's next
 * connection is answered 429 and closed; other addresses, requests under way and a burst of
 * connections that send their request at once are not held back. Real hub (in process), raw
 * sockets on loopback (127.0.0.2 is another address).
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { IDLE_GRACE_MS, MAX_PIPELINED_REQUESTS } from "../../../hub/auth/idle-connections.js";
import { memoryLogger } from "../../../shared/log.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let hub: TestHub | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await hub?.stop();
  hub = undefined;
});

function open(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", localAddress }, () => resolve(s));
    s.on("error", reject);
    sockets.push(s);
  });
}

/** What the hub answers on a new connection (a request sent when `request` is given), or "no answer" within 2 s. */
async function answer(port: number, localAddress: string, request?: string): Promise<string> {
  const s = await open(port, localAddress);
  if (request !== undefined) s.write(request);
  let text = "";
  s.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  await new Promise<void>((resolve) => {
    s.once("close", () => resolve());
    setTimeout(resolve, 2000);
  });
  return text === "" ? "no answer" : text;
}

const HEALTHZ = "GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n";

describe("connections that send no request", () => {
  it("past 256 idle from one address, its next connection is refused 429; other addresses are served", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    // The hub's clock, moved past the idle grace below instead of waiting it out.
    let ahead = 0;
    const t = await startTestHub({ log: memoryLogger(lines), now: () => Date.now() + ahead });
    hub = t;
    const { port } = t.hub;
    for (let i = 0; i < 256; i++) await open(port);

    // A burst from the same address that sends its requests at once (a fleet behind one NAT
    // reconnecting) is served: those 256 have been idle only a moment.
    const burst = await Promise.all(Array.from({ length: 50 }, () => answer(port, "127.0.0.1", HEALTHZ)));
    expect(burst.filter((a) => a.startsWith("HTTP/1.1 200"))).toHaveLength(50);

    ahead = IDLE_GRACE_MS + 500;
    const refused = await answer(port, "127.0.0.1");
    expect(refused).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    expect(refused).toContain("Retry-After: 10\r\n");
    expect(refused).toContain(
      "\r\n\r\n256 connections from 127.0.0.1 are open with no request under way (at most 256); send requests on those or close some\n",
    );
    // Said once in the log, naming the address.
    await answer(port, "127.0.0.1");
    expect(lines.filter((l) => l.msg.startsWith("refused a connection"))).toEqual([
      expect.objectContaining({ level: "warn", data: expect.objectContaining({ remote: "127.0.0.1" }) }),
    ]);

    // Another address is not held back.
    expect(await answer(port, "127.0.0.2", HEALTHZ)).toMatch(/^HTTP\/1\.1 200 /);
    // One idle connection closed: the address may connect again.
    sockets[0]?.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(await answer(port, "127.0.0.1", HEALTHZ)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("requests sent on one connection without waiting for their answers: past 16 it is closed and the rest never handled", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const t = await startTestHub({ log: memoryLogger(lines) });
    hub = t;
    const { port } = t.hub;
    const one = "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n";
    // A client that pipelines a few (HTTP/1.1 allows it) gets every answer, in order.
    const few = await open(port);
    let fewText = "";
    few.on("data", (chunk: Buffer) => {
      fewText += chunk.toString();
    });
    few.write(one.repeat(10));
    await expect.poll(() => fewText.match(/HTTP\/1\.1 200 /g)?.length ?? 0, { timeout: 10_000 }).toBe(10);

    // 20 connections each sending 50,000 at once and reading nothing (no token needed): every
    // request was read and handled, the answers queued, and another client's /healthz waited
    // behind them all (149 s for 20 connections of 200,000).
    const floods = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    for (const s of floods) {
      s.on("error", () => {});
      s.pause();
      s.write(one.repeat(50_000));
    }
    await new Promise((r) => setTimeout(r, 1500));
    // What the hub handled: the 10, the probe and at most 16 a flooding connection (it closed each
    // at the 17th), not a million.
    const metrics = await (await fetch(`${t.hub.url}/metrics`)).text();
    const handled = Number(
      /ship_hub_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} (\d+)/.exec(
        metrics,
      )?.[1],
    );
    expect(handled).toBeLessThanOrEqual(10 + 1 + 20 * MAX_PIPELINED_REQUESTS);
    const said = lines.filter((l) => l.msg.startsWith("closed a connection: too many requests sent on it"));
    expect(said).toHaveLength(1);
    expect(said[0]?.data).toMatchObject({ remote: "127.0.0.1" });
  });
});
