/**
 * The reason a refusing server gives in JSON (server-reason.ts), read from a real server's answer:
 * bounded in size, time and length, and only from a JSON body. Was: a reason cut at its 300th
 * UTF-16 unit between the halves of an emoji kept half a character, which UTF-8 cannot carry
 * (U+FFFD in the state file, notifications and the hub's reasons).
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverReason } from "../../../agent/download/server-reason.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

describe("a server's reason for a refusal", () => {
  let server: TestServer;
  const answers: Record<string, { type: string; body: Buffer | string; stall?: boolean }> = {
    "/emoji-at-cut": {
      type: "application/json",
      body: JSON.stringify({ error: `${"x".repeat(299)}😀 and more` }),
    },
    "/long": { type: "application/json", body: JSON.stringify({ error: `${"y".repeat(400)}` }) },
    "/huge": { type: "application/json", body: JSON.stringify({ error: "z".repeat(10_000) }) },
    "/html": { type: "text/html", body: "<h1>Not Found</h1>" },
    "/binary": { type: "application/json", body: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]) },
    "/stalls": { type: "application/json", body: '{"error": "never fini', stall: true },
  };

  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      const answer = answers[req.url ?? ""];
      if (answer === undefined) return void res.writeHead(500).end();
      res.writeHead(404, { "content-type": answer.type });
      if (answer.stall) res.write(answer.body);
      else res.end(answer.body);
    });
  });
  afterAll(() => server.close());

  const reasonOf = async (path: string) => {
    const res = await request(`${server.url}${path}`);
    try {
      return await serverReason(res.headers, res.body, []);
    } finally {
      // As download.ts drops an unread body: undici reports the drop as an error event.
      res.body.on("error", () => undefined);
      res.body.destroy();
    }
  };

  it("is cut at 300 characters, never between the halves of a surrogate pair", async () => {
    const said = await reasonOf("/emoji-at-cut");
    expect(said).toBe(`${"x".repeat(299)}…`);
    // UTF-8 carries every character of it: no half of a pair turned into U+FFFD.
    expect(Buffer.from(said ?? "", "utf8").toString("utf8")).toBe(said);
    expect(await reasonOf("/long")).toBe(`${"y".repeat(300)}…`);
  });

  it("is nothing from a body past 4 KiB, an HTML page, or bytes that are not JSON", async () => {
    expect(await reasonOf("/huge")).toBeUndefined();
    expect(await reasonOf("/html")).toBeUndefined();
    expect(await reasonOf("/binary")).toBeUndefined();
  });

  it("is nothing from a server that stalls mid-body, after at most about 2 s", async () => {
    const started = Date.now();
    expect(await reasonOf("/stalls")).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
