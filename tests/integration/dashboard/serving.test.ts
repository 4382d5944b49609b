import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDashboardAssets } from "../../../hub/dashboard/assets.js";
import { dashboardRoutes } from "../../../hub/dashboard/router.js";
import { startTestHub, TestAgent, type TestHub } from "../hub/support.js";
import { buildDashboard, until } from "./support.js";

let t: TestHub;
const agents: TestAgent[] = [];

const fleet = [
  {
    id: "web-1",
    labels: { env: "prod", region: "eu" },
    apps: [{ app: "web", version: "1.0.0", state: "ok" }],
  },
  {
    id: "web-2",
    labels: { env: "prod", region: "us" },
    apps: [{ app: "web", version: "1.1.0", state: "failed" }],
  },
  { id: "web-3", labels: { env: "staging" }, apps: [{ app: "web", version: "1.0.0", state: "ok" }] },
  { id: "db-1", labels: { env: "prod", region: "eu" }, apps: [{ app: "db", version: "1.1.0", state: "ok" }] },
];

beforeAll(async () => {
  buildDashboard();
  t = await startTestHub();
  for (const a of fleet) {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(a.id));
    agent.hello(a.id, a.apps as never, a.labels);
    agents.push(agent);
  }
  await until(() => fleet.every((a) => t.hub.registry.isOnline(a.id)), "agents online");
  // One agent goes offline so the online/offline filter has both kinds.
  const last = agents.pop();
  last?.ws.close();
  await until(() => !t.hub.registry.isOnline("db-1"), "db-1 offline");
});
afterAll(async () => {
  for (const a of agents) a.ws.close();
  await t?.stop();
});

describe("the hub serves the dashboard", () => {
  it("serves index.html at / with a CSP that forbids inline code, and no inline code in it", async () => {
    const res = await fetch(`${t.hub.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain('src="js/main.js"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    // Relative URLs only, so a reverse proxy can publish the hub at a sub-path.
    expect(html).not.toMatch(/(href|src)="\//);
  });

  it("serves the compiled modules and the stylesheet with their types", async () => {
    const js = await fetch(`${t.hub.url}/js/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(await js.text()).toContain('from "./views/rollout-form.js"');
    const api = await fetch(`${t.hub.url}/js/api.js`);
    expect(api.status).toBe(200);
    // The browser resolves API calls against the page, never against the host's root.
    expect(await api.text()).toMatch(/fetch\(`api\/v1\//);
    const css = await fetch(`${t.hub.url}/app.css`);
    expect(css.headers.get("content-type")).toMatch(/text\/css/);
  });

  it("leaves the API's own 404s and auth alone", async () => {
    expect((await t.api("GET", "/api/v1/nothing-here", { token: t.operator })).status).toBe(404);
    expect((await fetch(`${t.hub.url}/no-such-page.html`)).status).toBe(404);
    expect((await t.api("GET", "/api/v1/agents")).status).toBe(401);
    expect((await t.api("GET", "/api/v1/agents", { token: t.ci })).status).toBe(403);
  });

  it("finds the assets from the compiled hub (dist/hub/dashboard) as from the sources", () => {
    const root = join(import.meta.dirname, "..", "..", "..");
    const expected = {
      staticDir: join(root, "dashboard", "static"),
      scriptsDir: join(root, "dist", "dashboard"),
    };
    expect(findDashboardAssets(join(root, "dist", "hub", "dashboard", "assets.js"))).toEqual(expected);
    expect(findDashboardAssets(join(root, "hub", "dashboard", "assets.ts"))).toEqual(expected);
  });

  it("says the dashboard is not built rather than serving a page that cannot load", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-dash-"));
    try {
      await writeFile(join(dir, "index.html"), "<!doctype html>");
      const app = express().use(dashboardRoutes({ staticDir: dir, scriptsDir: join(dir, "missing") }));
      const server = createServer(app).listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        expect(res.status).toBe(503);
        expect(await res.text()).toContain("npm run build");
      } finally {
        server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

type Page = { agents: { id: string; online: boolean }[]; total: number; online: number; fleet: number };
const ids = (page: Page) => page.agents.map((a) => a.id);

describe("GET /api/v1/agents pages and filters on the hub", () => {
  const list = async (query: string) => {
    const res = await t.api<Page & { facets?: unknown; error?: string }>("GET", `/api/v1/agents?${query}`, {
      token: t.operator,
    });
    return res;
  };

  it("without parameters returns every agent, as before", async () => {
    const { body } = await list("");
    expect(ids(body)).toEqual(["db-1", "web-1", "web-2", "web-3"]);
    expect(body.total).toBe(4);
    expect(body.online).toBe(3);
  });

  it("pages with limit and offset and counts the whole match", async () => {
    const { body } = await list("limit=2&offset=1");
    expect(ids(body)).toEqual(["web-1", "web-2"]);
    expect(body.total).toBe(4);
    expect(body.fleet).toBe(4);
  });

  it("filters by label, app, version, state, status and text", async () => {
    expect(ids((await list("label=env=prod")).body)).toEqual(["db-1", "web-1", "web-2"]);
    expect(ids((await list("label=env=prod&label=region=eu")).body)).toEqual(["db-1", "web-1"]);
    expect(ids((await list("app=web&version=1.0.0")).body)).toEqual(["web-1", "web-3"]);
    // Without app, a version matches any app's.
    expect(ids((await list("version=1.1.0")).body)).toEqual(["db-1", "web-2"]);
    expect(ids((await list("app=db&version=1.0.0")).body)).toEqual([]);
    expect(ids((await list("state=failed")).body)).toEqual(["web-2"]);
    expect(ids((await list("status=offline")).body)).toEqual(["db-1"]);
    const online = await list("status=online&label=env=prod");
    expect(ids(online.body)).toEqual(["web-1", "web-2"]);
    expect(online.body.total).toBe(2);
    expect(online.body.fleet).toBe(4);
    expect(ids((await list("q=WEB-")).body)).toEqual(["web-1", "web-2", "web-3"]);
  });

  it("offers facets over the whole fleet for the filter inputs", async () => {
    const { body } = await list("limit=1&facets=true&app=db");
    expect(body.facets).toEqual({
      labels: { env: ["prod", "staging"], region: ["eu", "us"] },
      apps: ["db", "web"],
      versions: ["1.0.0", "1.1.0"],
      states: ["failed", "ok"],
    });
  });

  it("refuses bad parameters with the field named", async () => {
    const res = await list("label=env");
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/query\.label.*key=value/);
    expect((await list("limit=0")).status).toBe(400);
    expect((await list("status=sleeping")).status).toBe(400);
  });
});
