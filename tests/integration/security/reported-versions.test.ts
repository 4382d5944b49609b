/**
 * The versions an agent reports (each app of its hello, a report's from and to version) were
 * taken at any length: one agent token's hello naming a 300 KB version for two apps was stored,
 * and every `GET /agents` page (the dashboard's fleet view polls it every 2 s), `GET /agents/:id`
 * and `ship-hub agents` carried those 600 KB from then on. A release's version is at most 100
 * characters, so no longer one can match a release: the hub keeps the first 100 and says it cut
 * it. Real hub (in process), real WebSocket and HTTP.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../support/wait-for.js";
import { hubPerTest, publishRelease, TestAgent } from "../hub/support.js";

const session = hubPerTest();

const LONG = `1.${"0".repeat(300_000)}`;
/** An agent's record, its apps' versions cut, is a few KB at most. */
const MOST = 8_000;
const OPTS = { timeoutMs: 10_000, intervalMs: 100, where: "the hub's GET /agents/a1" };

interface AgentView {
  apps: { app: string; version: string | null }[];
}

describe("versions an agent reports are bounded", () => {
  it("a hello's versions and a report's are kept to 100 characters, said cut", async () => {
    // The default max_message_kb (1024): the test hub's 64 KB would refuse the hello whole.
    const t = await session.start({ maxPayloadBytes: 1 << 20 });
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1", [
      { app: "web", version: LONG, state: "ok", releaseId: undefined },
      { app: "api", version: `v${LONG}`, state: "ok", releaseId: undefined },
    ]);
    const one = async () => (await t.api<AgentView>("GET", "/api/v1/agents/a1", { token: t.operator })).body;
    await waitFor("the hello's apps", async () => (await one()).apps?.length === 2, OPTS);
    const listed = await t.api("GET", "/api/v1/agents", { token: t.operator });
    expect(JSON.stringify(listed.body).length).toBeLessThan(MOST);
    const view = await one();
    expect(JSON.stringify(view).length).toBeLessThan(MOST);
    const web = view.apps.find((a) => a.app === "web");
    expect(web?.version).toBe(`${LONG.slice(0, 100)}…`);

    agent.send({
      type: "report",
      v: 1,
      reportId: randomUUID(),
      app: "web",
      outcome: "succeeded",
      fromVersion: LONG,
      toVersion: `2.${"0".repeat(300_000)}`,
      steps: [],
    });
    await waitFor(
      "the report's version",
      async () => (await one()).apps.find((a) => a.app === "web")?.version?.startsWith("2.") === true,
      OPTS,
    );
    const after = await t.api("GET", "/api/v1/agents/a1", { token: t.operator });
    expect(JSON.stringify(after.body).length).toBeLessThan(MOST);
  });

  it("a hello's labels: the first 100 are kept, so one agent cannot make every listing heavy", async () => {
    const t = await session.start({ maxPayloadBytes: 1 << 20 });
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    // 3,000 labels of ~300 bytes: 900 KB, under max_message_kb, stored and listed whole before.
    const labels = Object.fromEntries(
      Array.from({ length: 3_000 }, (_, i) => [
        `k${String(i).padStart(4, "0")}${"x".repeat(90)}`,
        "v".repeat(200),
      ]),
    );
    agent.hello("a1", undefined, labels);
    const one = async () =>
      (await t.api<{ labels?: Record<string, string> }>("GET", "/api/v1/agents/a1", { token: t.operator }))
        .body;
    await waitFor("the hello's labels", async () => Object.keys((await one()).labels ?? {}).length > 0, OPTS);
    const kept = Object.keys((await one()).labels ?? {});
    expect(kept).toHaveLength(100);
    expect(kept[0]).toBe(Object.keys(labels)[0]);
    const listed = await t.api("GET", "/api/v1/agents", { token: t.operator });
    expect(JSON.stringify(listed.body).length).toBeLessThan(40_000);
  });

  it("a hello's apps: the first 100 are kept, each once, so one agent cannot make every listing heavy", async () => {
    const t = await session.start({ maxPayloadBytes: 1 << 20 });
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    // 1,000 apps (the most a hello may list) near every field's limit: ~550 KB, under max_message_kb,
    // stored and listed whole before.
    const app = (i: number) => ({
      app: `a${String(i).padStart(4, "0")}${"x".repeat(95)}`,
      version: `1.${"0".repeat(98)}`,
      state: "s".repeat(100),
      releaseId: "r".repeat(200),
    });
    const apps = Array.from({ length: 997 }, (_, i) => app(i));
    // An app named twice keeps its first entry; a name no app can have (over 100 characters) is none.
    agent.hello("a1", [app(0), { ...app(0), state: "ok" }, { ...app(1), app: "y".repeat(150) }, ...apps]);
    const one = async () =>
      (
        await t.api<{ apps?: { app: string; state: string; version: string | null }[] }>(
          "GET",
          "/api/v1/agents/a1",
          {
            token: t.operator,
          },
        )
      ).body;
    await waitFor("the hello's apps", async () => ((await one()).apps ?? []).length > 0, OPTS);
    const kept = (await one()).apps ?? [];
    expect(kept).toHaveLength(100);
    expect(kept.map((a) => a.app)).toEqual(apps.slice(0, 100).map((a) => a.app));
    expect(kept[0]?.state).toBe(app(0).state);
    const listed = await t.api("GET", "/api/v1/agents", { token: t.operator });
    expect(JSON.stringify(listed.body).length).toBeLessThan(100_000);

    // A report of an app the record lacks adds none past the 100; one of a kept app still counts.
    for (const name of ["another", app(1).app])
      agent.send({
        type: "report",
        v: 1,
        reportId: randomUUID(),
        app: name,
        outcome: "succeeded",
        fromVersion: null,
        toVersion: "2.0.0",
        steps: [],
      });
    await waitFor(
      "the report of a kept app",
      async () => (await one()).apps?.find((a) => a.app === app(1).app)?.version === "2.0.0",
      OPTS,
    );
    const after = (await one()).apps ?? [];
    expect(after).toHaveLength(100);
    expect(after.find((a) => a.app === "another")).toBeUndefined();
  });

  it("a report of an app named past 100 characters adds no app to the record, as a hello's entry adds none", async () => {
    const t = await session.start();
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
    const apps = async () =>
      (await t.api<AgentView>("GET", "/api/v1/agents/a1", { token: t.operator })).body.apps?.map(
        (a) => a.app,
      ) ?? [];
    await waitFor("the hello's app", async () => (await apps()).length === 1, OPTS);
    // No release is named so (an app name is at most 100 characters): the hub can never act on it.
    for (const app of ["z".repeat(101), "y".repeat(200), "api"])
      agent.send({
        type: "report",
        v: 1,
        reportId: randomUUID(),
        app,
        outcome: "succeeded",
        fromVersion: null,
        toVersion: "2.0.0",
        steps: [],
      });
    await waitFor("the report of api", async () => (await apps()).includes("api"), OPTS);
    expect(await apps()).toEqual(["web", "api"]);
  });

  it("a selector or labels wave asking for more labels than an agent keeps is a 400 naming it", async () => {
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, "v"]));
    const bodies: [string, unknown][] = [
      ["body.selector.labels", { selector: { labels: many }, waves: [{ name: "all", percent: 100 }] }],
      ["body.waves[0].labels", { waves: [{ name: "some", labels: many }] }],
    ];
    for (const [field, body] of bodies) {
      const res = await t.api("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body: { release: "2.0.0", ...(body as object) },
      });
      expect(res.status).toBe(400);
      expect(String(res.body.error)).toBe(`${field}: at most 100 labels (an agent carries no more)`);
    }
  });
});
