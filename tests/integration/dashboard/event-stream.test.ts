import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestText, startTestHub, type TestHub } from "../hub/support.js";

/** Reads server-sent events from a real streamed response until `want` returns true. */
async function readUntil(
  res: Response,
  want: (events: { event: string; id: number }[]) => boolean,
  timeoutMs = 5000,
): Promise<{ event: string; id: number }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const seen: { event: string; id: number }[] = [];
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  while (!want(seen)) {
    if (Date.now() > deadline) throw new Error(`stream gave ${JSON.stringify(seen)}`);
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const lines = buffer.slice(0, end).split("\n");
      buffer = buffer.slice(end + 2);
      const event = lines
        .find((l) => l.startsWith("event:"))
        ?.slice(6)
        .trim();
      const data = lines.find((l) => l.startsWith("data:"))?.slice(5);
      if (event !== undefined && data !== undefined) seen.push({ event, id: JSON.parse(data).id });
    }
  }
  reader.releaseLock();
  return seen;
}

describe("GET /api/v1/stream: the hub pushes changes to open dashboards", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t.stop();
  });

  it("needs an operator token", async () => {
    expect((await fetch(`${t.hub.url}/api/v1/stream`)).status).toBe(401);
    const ci = await fetch(`${t.hub.url}/api/v1/stream`, { headers: { authorization: `Bearer ${t.ci}` } });
    expect(ci.status).toBe(403);
  });

  it("announces the newest audit event at once and again when something changes", async () => {
    const abort = new AbortController();
    const res = await fetch(`${t.hub.url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${t.operator}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const [first] = await readUntil(res, (seen) => seen.length >= 1);
    expect(first?.event).toBe("changed");

    // A state change (publishing a release writes an audit event) reaches the open stream.
    const body = Buffer.from("artifact bytes");
    const sha256 = createHash("sha256").update(body).digest("hex");
    const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
      body,
    });
    expect(put.status).toBe(201);
    const published = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "hub", sha256 },
      },
    });
    expect(published.status).toBe(201);
    const { body: log } = await t.api<{ events: { id: number }[] }>("GET", "/api/v1/events?limit=1", {
      token: t.operator,
    });
    const newest = log.events[0]?.id ?? 0;
    expect(newest).toBeGreaterThan(first?.id ?? 0);
    const seen = await readUntil(res, (s) => s.some((e) => e.id === newest));
    expect(seen.at(-1)?.id).toBe(newest);
    abort.abort();
  });
});
