/**
 * A method a path does not take (`DELETE /api/v1/releases`, `POST /healthz`) was a 404 "no route",
 * which read as a path that does not exist. HTTP says 405 with an Allow header listing the methods
 * the path takes (RFC 9110 15.5.6): every route of the API (as its OpenAPI document lists them), the
 * hub's own (/healthz, /metrics, the OpenAPI document, the agents' WebSocket channel) and the
 * dashboard's files; a plain GET of the channel is a 426 saying it is one. A path nothing
 * serves stays the 404. Real hub (in process) over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async function ask(method: string, path: string) {
  const res = await fetch(`${t.hub.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.operator}` },
  });
  const text = await res.text();
  return {
    status: res.status,
    allow: res.headers.get("allow"),
    error: text === "" ? undefined : (JSON.parse(text) as { error?: string }).error,
  };
}

describe("a method a path does not take", () => {
  it("is a 405 naming the methods of that path in Allow, for every route the API lists", async () => {
    const doc = (await (await fetch(`${t.hub.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const templates = Object.entries(doc.paths).map(([path, ops]) => ({
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
      methods: Object.keys(ops).map((m) => m.toUpperCase()),
    }));
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(15);
    for (const template of paths) {
      const path = template.replace(/\{[^}]+\}/g, "x0");
      // Every template this path matches (`/rollouts/preview` is also `/rollouts/{id}`).
      const takes = new Set(templates.filter((o) => o.pattern.test(path)).flatMap((o) => o.methods));
      if (takes.has("GET")) takes.add("HEAD");
      const allow = [...takes].sort().join(", ");
      for (const method of METHODS.filter((m) => !takes.has(m)))
        expect(await ask(method, `/api/v1${path}`), `${method} ${path}`).toEqual({
          status: 405,
          allow,
          error: `${method} /api/v1${path}: method not allowed (this path takes ${allow})`,
        });
      // As the hub's own paths answer it: each API router answered a 200 in text/plain itself.
      const options = await fetch(`${t.hub.url}/api/v1${path}`, { method: "OPTIONS" });
      expect(
        {
          status: options.status,
          allow: options.headers.get("allow"),
          type: options.headers.get("content-type"),
          body: await options.text(),
        },
        `OPTIONS ${path}`,
      ).toEqual({ status: 204, allow, type: null, body: "" });
    }
  });

  it("is a 405 on the hub's own routes and the dashboard's files; OPTIONS answers their Allow", async () => {
    for (const path of [
      "/healthz",
      "/metrics",
      "/api/v1/openapi.json",
      "/",
      "/index.html",
      "/app.css",
      "/js/main.js",
    ])
      for (const method of ["POST", "PUT", "DELETE"])
        expect(await ask(method, path), `${method} ${path}`).toEqual({
          status: 405,
          allow: "GET, HEAD",
          error: `${method} ${path}: method not allowed (this path takes GET, HEAD)`,
        });
    expect(await ask("OPTIONS", "/healthz")).toEqual({ status: 204, allow: "GET, HEAD", error: undefined });
    // The agents' channel: a WebSocket upgrade; a plain GET is told so (426), another method is a 405.
    expect(await ask("POST", "/api/v1/agent")).toMatchObject({ status: 405, allow: "GET, HEAD" });
    const plain = await fetch(`${t.hub.url}/api/v1/agent`);
    expect({ status: plain.status, upgrade: plain.headers.get("upgrade"), body: await plain.json() }).toEqual(
      {
        status: 426,
        upgrade: "websocket",
        body: {
          error:
            "/api/v1/agent is the agents' WebSocket channel: connect with Upgrade: websocket and an agent token (ship agent does)",
        },
      },
    );
    // As express matches: any case, a trailing slash.
    expect(await ask("DELETE", "/api/v1/Releases/")).toMatchObject({ status: 405, allow: "GET, HEAD, POST" });
  });

  it("a path nothing serves stays a 404, whatever the method", async () => {
    for (const [method, path] of [
      ["DELETE", "/api/v1/nothing"],
      ["GET", "/api/v1/rollouts/x/nothing"],
      ["POST", "/healthz/x"],
      ["PUT", "/api/v1"],
      // The dashboard's files only: not one it does not have, nor one outside its directories.
      ["POST", "/nothing.css"],
      ["POST", "/js/nothing.js"],
      ["POST", "/js/..%2f..%2fpackage.json"],
    ] as const)
      expect(await ask(method, path), `${method} ${path}`).toEqual({
        status: 404,
        allow: null,
        error: `no route ${method} ${path}`,
      });
  });
});
