/**
 * Revalidating an artifact a cache already holds. The hub answered 304 only to an If-None-Match
 * that was its ETag character for character: a weak `W/"sha"` (what a compressing proxy in front of
 * the hub makes of its ETag), a list of cached validators or `*` each got the whole artifact again,
 * and If-Modified-Since was never looked at. RFC 9110 §13.1.2: a GET or HEAD whose condition does
 * not hold is 304, with the validators. Real hub (in process) over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub, uploadArtifact } from "./support.js";

let t: TestHub;
let etag: string;
let modified: string;
const data = Buffer.alloc(50_000, 7);

beforeAll(async () => {
  t = await startTestHub();
  const put = await uploadArtifact(t, data);
  const { sha256 } = (await put.json()) as { sha256: string };
  etag = `"${sha256}"`;
  const first = await get({});
  modified = first.headers.get("last-modified") ?? "";
  expect(first.headers.get("etag")).toBe(etag);
});
afterAll(async () => {
  await t.stop();
});

function get(headers: Record<string, string>, method = "GET") {
  return fetch(`${t.hub.url}/api/v1/artifacts/${etag.slice(1, -1)}`, {
    method,
    headers: { authorization: `Bearer ${t.operator}`, ...headers },
  });
}

describe("an artifact revalidated with a conditional GET", () => {
  it.each([
    ["its ETag", () => etag],
    ["its ETag made weak", () => `W/${etag}`],
    ["a list holding it", () => `"0000", ${etag}`],
    ["a list holding it weak, without spaces", () => `W/"0000",W/${etag}`],
    ["*", () => "*"],
  ])("If-None-Match with %s is 304 with the validators, for GET and HEAD", async (_, value) => {
    for (const method of ["GET", "HEAD"]) {
      const res = await get({ "if-none-match": value() }, method);
      expect(res.status).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("last-modified")).toBe(modified);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it("If-None-Match naming other versions only is the whole artifact", async () => {
    const res = await get({ "if-none-match": `"0000", W/"1111"` });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it("If-Modified-Since at or after its Last-Modified is 304; before it, the artifact", async () => {
    expect((await get({ "if-modified-since": modified })).status).toBe(304);
    const later = new Date(Date.parse(modified) + 60_000).toUTCString();
    expect((await get({ "if-modified-since": later })).status).toBe(304);
    const earlier = new Date(Date.parse(modified) - 60_000).toUTCString();
    const res = await get({ "if-modified-since": earlier });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(data.length);
  });
});
