/**
 * A rollout's selector or labels wave sent through the API (or a `--spec` file) with spaces at a
 * label's ends (`{" ring ": "main"}`) was kept as written and matched no agent: the hub trims the
 * labels agents announce, and `--selector`, `--wave NAME=label:` and the dashboard trim what they
 * are given, so such a selector held nobody and such a wave stayed empty. Names and values are
 * trimmed here too, by the hello's rule; two names that trim alike are a 400 naming them.
 * Real hub (in process) over real HTTP and WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("labels a rollout asks for, with spaces at their ends", () => {
  let hub: LabelledHub;
  beforeAll(async () => {
    hub = await hubWithLabelledAgents([
      { id: "m1", labels: { ring: "main" } },
      { id: "c1", labels: { ring: "canary" } },
    ]);
  });
  afterAll(async () => {
    await hub?.stop();
  });
  const post = (path: string, body: object) =>
    hub.t.api<{ error?: string; nobody?: string; id?: string; waves: { name: string; agents: unknown[] }[] }>(
      "POST",
      `/api/v1/rollouts${path}`,
      { token: hub.t.operator, body: { release: hub.release, ...body } },
    );

  it("are read trimmed, names and values, in the selector and in labels waves", async () => {
    const preview = await post("/preview", {
      selector: { labels: { " ring ": " main " } },
      waves: [{ name: "all", percent: 100 }],
    });
    expect(preview.status).toBe(200);
    expect(preview.body.nobody).toBeUndefined();
    expect(preview.body.waves.map((w) => [w.name, w.agents])).toEqual([["all", ["m1"]]]);
    const created = await post("", {
      waves: [
        { name: "canary", labels: { "ring ": " canary" } },
        { name: "rest", percent: 100 },
      ],
    });
    expect(created.status, created.body.error).toBe(201);
    try {
      const detail = await hub.t.api<{
        spec: { waves: { labels?: Record<string, string> }[] };
        waves: { agents: { agentId: string }[] }[];
      }>("GET", `/api/v1/rollouts/${created.body.id}`, { token: hub.t.operator });
      expect(detail.body.spec.waves[0]?.labels).toEqual({ ring: "canary" });
      expect(detail.body.waves.map((w) => w.agents.map((a) => a.agentId))).toEqual([["c1"], ["m1"]]);
    } finally {
      await hub.t.api("POST", `/api/v1/rollouts/${created.body.id}/abort`, {
        token: hub.t.operator,
        body: {},
      });
    }
  });

  it("two names that trim alike are a 400 naming them: no agent carries two values of one label", async () => {
    const refused = await post("/preview", {
      selector: { labels: { ring: "main", " ring": "canary" } },
      waves: [{ name: "all", percent: 100 }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(
      /^body\.selector\.labels.*"ring" and " ring" name one label \(spaces at a name's ends are no part of it\): give it once$/,
    );
  });
});
