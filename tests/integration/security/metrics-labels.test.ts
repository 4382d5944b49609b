/**
 * Express matches the API's mount without case, so `/API/V1/releases` is the releases route. Its
 * answers must count under the route's one label (`/api/v1/releases`): each spelling made a label
 * of its own (a series in Prometheus), and a dashboard or alert on `/api/v1/releases` missed them.
 * Real hub over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishRelease, startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

/** The `_count` lines of the request histogram, as `METHOD ROUTE STATUS` → count. */
async function requestCounts(): Promise<Map<string, number>> {
  const text = (await t.api<string>("GET", "/metrics")).body;
  const counts = new Map<string, number>();
  for (const m of text.matchAll(
    /^ship_hub_http_request_duration_seconds_count\{method="([^"]+)",route="([^"]*)",status="(\d+)"\} (\d+)$/gm,
  ))
    counts.set(`${m[1]} ${m[2]} ${m[3]}`, Number(m[4]));
  return counts;
}

describe("request metrics: one label per route, whatever the spelling of /api/v1", () => {
  it("answers a route gives (200, 201) under another case of the mount count under the route's label", async () => {
    const id = await publishRelease(t, "1.0.0");
    for (const prefix of ["/api/v1", "/API/V1", "/Api/v1", "/aPI/v1"]) {
      expect((await t.api("GET", `${prefix}/releases`, { token: t.operator })).status).toBe(200);
      expect((await t.api("GET", `${prefix}/releases/${id}`, { token: t.operator })).status).toBe(200);
    }
    const created = await t.api("POST", "/API/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "2.0.0",
        manifest: 'version: "2.0.0"\n',
        source: { type: "git", commit: "abcdef1" },
      },
    });
    expect(created.status).toBe(201);

    const counts = await requestCounts();
    expect(counts.get("GET /api/v1/releases 200")).toBe(4);
    expect(counts.get("GET /api/v1/releases/:id 200")).toBe(4);
    // publishRelease's and the one above.
    expect(counts.get("POST /api/v1/releases 201")).toBe(2);
    const routes = [...counts.keys()].map((key) => key.split(" ")[1] ?? "");
    expect(routes.filter((route) => route !== route.toLowerCase())).toEqual([]);
  });
});
