import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { manifestText, startTestHub, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const gitSource = { type: "git", commit: "0123456789abcdef0123456789abcdef01234567" };

async function upload(data: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream", ...headers },
    body: data,
  });
  return {
    status: res.status,
    body: (await res.json()) as { sha256?: string; size?: number; error?: string },
  };
}

describe("hub HTTP API", () => {
  it("serves /healthz, Prometheus /metrics and an OpenAPI document built from the schemas", async () => {
    expect((await t.api("GET", "/healthz")).body).toEqual({ ok: true });
    await t.api("GET", "/api/v1/agents", { token: t.operator });
    // Refused by the route itself: counted under the same route, so its error rate is seen.
    expect((await t.api("GET", "/api/v1/agents?status=bogus", { token: t.operator })).status).toBe(400);
    expect((await t.api("GET", "/api/v1/releases/nope", { token: t.operator })).status).toBe(404);
    // Express matches paths without case: another spelling of the mount is the same route, not a
    // label of its own (a client without a token could make a new one per request).
    expect((await t.api("GET", "/API/V1/releases/nope", { token: t.operator })).status).toBe(404);
    expect((await t.api("GET", "/Api/v1/releases/nope", { token: "bad" })).status).toBe(401);
    const metrics = (await t.api<string>("GET", "/metrics")).body;
    expect(metrics).toContain("ship_hub_agents_online 0");
    expect(metrics).toMatch(
      /ship_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/agents",status="200"\} 1/,
    );
    expect(metrics).toMatch(
      /ship_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/agents",status="400"\} 1/,
    );
    expect(metrics).toMatch(
      /ship_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/releases\/:id",status="404"\} 2/,
    );
    expect(metrics).toMatch(
      /ship_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/releases\/:id",status="401"\} 1/,
    );
    expect(metrics).not.toMatch(/route="\/A[Pp][Ii]/);
    const doc = (
      await t.api<{
        paths: Record<string, unknown>;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      }>("GET", "/api/v1/openapi.json")
    ).body;
    expect(Object.keys(doc.paths)).toContain("/rollouts/{id}/abort");
    expect(Object.keys(doc.components.schemas.RolloutSpec?.properties ?? {})).toEqual(
      expect.arrayContaining([
        "release",
        "waves",
        "failureThreshold",
        "autoAdvance",
        "autoRollback",
        "selector",
      ]),
    );
  });

  it("publishes a release and lists it; versions are immutable", async () => {
    const body = { app: "web", version: "1.0.0", manifest: manifestText("1.0.0"), source: gitSource };
    const res = await t.api<{ id: string; createdBy: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body,
    });
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toMatch(/^ci \(/);
    const listed = await t.api<{ releases: { id: string }[] }>("GET", "/api/v1/releases?app=web", {
      token: t.operator,
    });
    expect(listed.body.releases.map((r) => r.id)).toContain(res.body.id);
    expect((await t.api("GET", `/api/v1/releases/${res.body.id}`, { token: t.ci })).body).toMatchObject({
      version: "1.0.0",
    });
    // The same release again (a retried publish) is answered with it, 200, and changes nothing;
    // another under its version is a 409.
    const again = await t.api<{ id: string }>("POST", "/api/v1/releases", { token: t.ci, body });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
    const other = { ...body, source: { type: "git", commit: "e".repeat(40) } };
    expect((await t.api("POST", "/api/v1/releases", { token: t.ci, body: other })).status).toBe(409);
    const events = await t.api<{ events: { kind: string; subject: string }[] }>("GET", "/api/v1/events", {
      token: t.operator,
    });
    expect(events.body.events[0]).toMatchObject({ kind: "release.published", subject: res.body.id });
  });

  it("refuses an invalid manifest at the hub, naming the line and key", async () => {
    const manifest = 'version: "2.0.0"\nfiles:\n  "a.toml":\n    action: explode\n';
    const res = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app: "web", version: "2.0.0", manifest, source: gitSource },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^body\.manifest: manifest:4:\d+ files/);
  });

  it("takes a manifest with a mistyped key, its answer saying the warning", async () => {
    // It was a 201 and nothing more: the safety setting CI meant was off on every host it reached.
    const manifest = 'version: "2.1.0"\nauto_rolback_on: [health_check]\n';
    const body = { app: "web", version: "2.1.0", manifest, source: gitSource };
    const res = await t.api<{ warnings?: string[] }>("POST", "/api/v1/releases", { token: t.ci, body });
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([
      'warning: manifest:2:1 auto_rolback_on: unknown key "auto_rolback_on"; ignored',
    ]);
    const again = await t.api<{ warnings?: string[] }>("POST", "/api/v1/releases", { token: t.ci, body });
    expect(again.status).toBe(200);
    expect(again.body.warnings).toEqual(res.body.warnings);
  });

  it("stores a release's manifest warnings at publish; its views read them, not the manifest again", async () => {
    // Every view parsed the manifest again (~4 ms of CPU each): a hub's first listing of 100
    // releases after a restart held the event loop ~400 ms while agents' reports waited.
    const manifest = 'version: "2.2.0"\nauto_rolback_on: [health_check]\n';
    const body = { app: "web", version: "2.2.0", manifest, source: gitSource };
    const res = await t.api<{ id: string; warnings?: string[] }>("POST", "/api/v1/releases", {
      token: t.ci,
      body,
    });
    expect(res.status).toBe(201);
    const said = ['warning: manifest:2:1 auto_rolback_on: unknown key "auto_rolback_on"; ignored'];
    expect((await t.hub.store.getRelease(res.body.id))?.warnings).toEqual(said);
    const read = await t.api<{ warnings: string[] }>("GET", `/api/v1/releases/${res.body.id}`, {
      token: t.operator,
    });
    expect(read.body.warnings).toEqual(said);
    // What is stored is what is said: a view that parsed the manifest would say its own line.
    const stored = {
      source: { ...gitSource, type: "git" as const },
      signature: null,
      created: 5_000,
      createdBy: "ci",
      manifest,
    };
    await t.hub.store.insertRelease({
      ...stored,
      id: "warned-at-publish",
      app: "w1",
      version: "2.2.0",
      warnings: ["stored"],
    });
    // A release stored before warnings were (no column value): computed from its manifest.
    await t.hub.store.insertRelease({ ...stored, id: "stored-before", app: "w2", version: "2.2.0" });
    const view = async (id: string) =>
      (await t.api<{ warnings: string[] }>("GET", `/api/v1/releases/${id}`, { token: t.operator })).body
        .warnings;
    expect(await view("warned-at-publish")).toEqual(["stored"]);
    expect(await view("stored-before")).toEqual(said);
    const listed = await t.api<{ releases: { id: string; warnings: string[] }[] }>(
      "GET",
      "/api/v1/releases?manifest=false",
      { token: t.operator },
    );
    const byId = new Map(listed.body.releases.map((r) => [r.id, r.warnings]));
    expect([byId.get(res.body.id), byId.get("warned-at-publish"), byId.get("stored-before")]).toEqual([
      said,
      ["stored"],
      said,
    ]);
  });

  it("refuses a version that differs from the manifest's, and bad fields with their path", async () => {
    const mismatch = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app: "web", version: "9.9.9", manifest: manifestText("3.0.0"), source: gitSource },
    });
    expect(mismatch.body.error).toMatch(/^body\.version: /);
    const bad = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "3.0.0",
        manifest: manifestText("3.0.0"),
        source: { type: "https", url: "x", sha256: "no" },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("body.source.url:");
    expect(bad.body.error).toContain("body.source.sha256: must be 64 hex digits");
    const json = await fetch(`${t.hub.url}/api/v1/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/json" },
      body: "{nope",
    });
    expect(json.status).toBe(400);
  });

  it("a download the client closes half-way is logged as such, not as a failed request", async () => {
    const lines: { level: string; msg: string }[] = [];
    const own = await startTestHub({ log: memoryLogger(lines) });
    try {
      const data = randomBytes(8 << 20);
      const put = await fetch(`${own.hub.url}/api/v1/artifacts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${own.ci}`, "content-type": "application/octet-stream" },
        body: data,
      });
      const { sha256 } = (await put.json()) as { sha256: string };
      // Read the first chunk, then hang up, as an agent that is stopped mid-download does.
      await new Promise<void>((resolve, reject) => {
        const req = httpGet(
          `${own.hub.url}/api/v1/artifacts/${sha256}`,
          { headers: { authorization: `Bearer ${own.operator}` } },
          (res) => {
            expect(res.statusCode).toBe(200);
            res.once("data", () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on("error", (e) => (e.message.includes("socket hang up") ? resolve() : reject(e)));
      });
      await vi.waitFor(() =>
        expect(lines.some((l) => l.msg === "artifact download closed by the client before its end")).toBe(
          true,
        ),
      );
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
    } finally {
      await own.stop();
    }
  });

  it("stores artifacts by sha256, checks X-Sha256, and serves ranges", async () => {
    const data = randomBytes(300_000);
    const sha = createHash("sha256").update(data).digest("hex");
    const wrong = await upload(data, { "x-sha256": "0".repeat(64) });
    expect(wrong.status).toBe(400);
    const ok = await upload(data, { "x-sha256": sha });
    expect(ok).toEqual({ status: 201, body: { sha256: sha, size: data.length } });
    const get = await fetch(`${t.hub.url}/api/v1/artifacts/${sha}`, {
      headers: { authorization: `Bearer ${t.operator}`, range: "bytes=100-199" },
    });
    expect(get.status).toBe(206);
    expect(Buffer.from(await get.arrayBuffer())).toEqual(data.subarray(100, 200));
    // What a resumed download sends: an open range with the ETag as If-Range.
    const etag = get.headers.get("etag") ?? "";
    expect(etag).toBe(`"${sha}"`);
    const rest = await fetch(`${t.hub.url}/api/v1/artifacts/${sha}`, {
      headers: { authorization: `Bearer ${t.operator}`, range: "bytes=299000-", "if-range": etag },
    });
    expect(rest.status).toBe(206);
    expect(rest.headers.get("content-range")).toBe(`bytes 299000-299999/${data.length}`);
    expect(Buffer.from(await rest.arrayBuffer())).toEqual(data.subarray(299_000));
    // Another version's validator: the whole artifact, not a slice of something else.
    const other = await fetch(`${t.hub.url}/api/v1/artifacts/${sha}`, {
      headers: { authorization: `Bearer ${t.operator}`, range: "bytes=0-9", "if-range": '"elsewhere"' },
    });
    expect(other.status).toBe(200);
    expect((await other.arrayBuffer()).byteLength).toBe(data.length);
    const beyond = await fetch(`${t.hub.url}/api/v1/artifacts/${sha}`, {
      headers: { authorization: `Bearer ${t.operator}`, range: "bytes=400000-" },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${data.length}`);
    const hubRelease = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "api",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "hub", sha256: sha },
      },
    });
    expect(hubRelease.status).toBe(201);
    const missing = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "api",
        version: "1.0.1",
        manifest: manifestText("1.0.1"),
        source: { type: "hub", sha256: "a".repeat(64) },
      },
    });
    expect(missing.body.error).toMatch(/^body\.source\.sha256: no such artifact/);
  });

  it("refuses artifacts over the size limit and leaves no partial file", async () => {
    const small = await startTestHub({ maxArtifactBytes: 2 * 1024 * 1024 });
    try {
      const res = await fetch(`${small.hub.url}/api/v1/artifacts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${small.ci}` },
        body: randomBytes(3 * 1024 * 1024),
      });
      expect(res.status).toBe(413);
      // The key the hub's operator sets, in its unit (not bytes).
      expect(((await res.json()) as { error: string }).error).toBe(
        "body: the artifact is over the hub's max_artifact_mb = 2 (hub.toml)",
      );
      // Refused by its declared size, nothing was read: the directory may not exist yet.
      expect(await readdir(`${small.dir}/artifacts`).catch(() => [])).toEqual([]);
    } finally {
      await small.stop();
    }
  });

  it("validates rollout bodies with field paths", async () => {
    const res = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: "x", waves: [{ name: "canary", percent: 150 }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("body.waves[0].percent: must be ≤ 100");
    // A threshold of neither shape is named with what it must be, not zod's bare "Invalid input".
    for (const failureThreshold of [{}, { count: 2, percent: 5 }, { cnt: 2 }]) {
      const bad = await t.api("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: "x", waves: [{ name: "all", percent: 100 }], failureThreshold },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe(
        "body.failureThreshold: must be {count: N} (a whole number ≥ 1) or {percent: P} (0 to 100)",
      );
    }
    const twice = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: "x",
        waves: [
          { name: "canary", percent: 10 },
          { name: "canary", percent: 100 },
        ],
      },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.error).toBe(
      'body.waves[1].name: "canary" already names wave 1: wave names must differ',
    );
    const zero = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: "x", waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 0 } },
    });
    expect(zero.body.error).toBe("body.failureThreshold.count: must be ≥ 1");
    const missing = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: "nope", waves: [{ name: "all", percent: 100 }] },
    });
    expect(missing.status).toBe(404);
    // Named as the field it came in, not read as a missing route.
    expect(missing.body).toEqual({
      error:
        'body.release: no release "nope" on this hub (GET /api/v1/releases lists them, as the dashboard\'s Releases page does)',
    });
    expect((await t.api("GET", "/api/v1/rollouts/nope", { token: t.operator })).status).toBe(404);
    // Pause and resume take only the fields that guard against a late decision: any other is
    // refused, naming those, not silently ignored.
    for (const [action, allowed] of [
      ["pause", "fromWave, decidedMsAgo"],
      ["resume", "failedSeen"],
    ]) {
      const extra = await t.api("POST", `/api/v1/rollouts/nope/${action}`, {
        token: t.operator,
        body: { reason: "maintenance" },
      });
      expect(extra.status).toBe(400);
      expect(extra.body.error).toBe(`body.reason: unknown key; allowed: ${allowed}`);
      const bare = await t.api("POST", `/api/v1/rollouts/nope/${action}`, { token: t.operator, body: {} });
      expect(bare.status).toBe(404);
    }
  });

  it("pages the audit log newest first", async () => {
    const first = await t.api<{ events: { id: number }[]; next: number | null }>(
      "GET",
      "/api/v1/events?limit=1",
      {
        token: t.operator,
      },
    );
    expect(first.body.events).toHaveLength(1);
    expect(first.body.next).toBe(first.body.events[0]!.id);
    const second = await t.api<{ events: { id: number }[] }>(
      "GET",
      `/api/v1/events?limit=1&before=${first.body.next}`,
      {
        token: t.operator,
      },
    );
    expect(second.body.events[0]!.id).toBeLessThan(first.body.next!);
  });
});

describe("rollout preview", () => {
  it("shows the split a rollout created with the same id then uses", async () => {
    for (let i = 0; i < 40; i++)
      await t.hub.store.upsertAgent({
        id: `p${i}`,
        hostname: `p${i}`,
        labels: {},
        agentVersion: "1",
        apps: [{ app: "preview-app", version: "1.0.0", state: "ok" }],
        online: false,
        lastSeen: Date.now(),
      });
    const release = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app: "preview-app", version: "2.0.0", manifest: manifestText("2.0.0"), source: gitSource },
    });
    const spec = {
      release: release.body.id,
      waves: [
        { name: "canary", percent: 25 },
        { name: "rest", percent: 100 },
      ],
    };
    type Preview = { rolloutId: string; waves: { agents: string[] }[] };
    const preview = await t.api<Preview>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: spec,
    });
    expect(preview.status).toBe(200);
    const canary = preview.body.waves[0]!.agents;
    expect(canary.length).toBeGreaterThan(0);
    expect(canary.length + preview.body.waves[1]!.agents.length).toBe(40);
    const created = await t.api<{ waves: { agents: { agentId: string }[] }[] }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { ...spec, id: preview.body.rolloutId },
    });
    expect(created.status).toBe(201);
    expect(created.body.waves[0]!.agents.map((a) => a.agentId).sort()).toEqual([...canary].sort());
    const check = await t.api("POST", "/api/v1/agents/p1/check", { token: t.operator });
    expect(check.status).toBe(409);
    // An id the hub never saw (a typo) is named as unknown, not as an agent that is away.
    const unknown = await t.api("POST", "/api/v1/agents/p1x/check", { token: t.operator });
    expect(unknown).toMatchObject({ status: 404, body: { error: "agent p1x not found" } });
  });
});

describe("rollout create answer", () => {
  it("is the rollout as its transaction wrote it, built without reading the deployments back", async () => {
    // 30 agents, a third of them already on 2.0.0 (planned succeeded), over two waves.
    for (let i = 0; i < 30; i++)
      await t.hub.store.upsertAgent({
        id: `c${String(i).padStart(2, "0")}`,
        hostname: `c${i}`,
        labels: {},
        agentVersion: "1",
        apps: [{ app: "answer-app", version: i % 3 === 0 ? "2.0.0" : "1.0.0", state: "ok" }],
        online: false,
        lastSeen: Date.now(),
      });
    const release = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app: "answer-app", version: "2.0.0", manifest: manifestText("2.0.0"), source: gitSource },
    });
    const reads = [
      vi.spyOn(t.hub.store, "listDeployments"),
      vi.spyOn(t.hub.store, "countDeploymentsOfRollout"),
      vi.spyOn(t.hub.store, "listDeploymentsOfAgents"),
    ];
    type Detail = { id: string; counts: Record<string, number>; waves: { agents: unknown[] }[] };
    let created: { status: number; body: Detail };
    try {
      created = await t.api<Detail>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release: release.body.id,
          waves: [
            { name: "canary", percent: 20 },
            { name: "rest", percent: 100 },
          ],
        },
      });
      // A 10,000-agent rollout read back costs the database and the hub as much as the sends.
      for (const read of reads) expect(read).not.toHaveBeenCalled();
    } finally {
      for (const read of reads) read.mockRestore();
    }
    expect(created.status).toBe(201);
    expect(created.body.counts).toEqual({ pending: 20, succeeded: 10 });
    expect(created.body.waves.flatMap((w) => w.agents)).toHaveLength(30);
    // Nothing changed since: the answer equals the view read from the store, field for field, plus
    // create's own warnings (its agents were stored offline: each wave waits for them).
    const read = await t.api<Detail>("GET", `/api/v1/rollouts/${created.body.id}`, { token: t.operator });
    const { warnings: _, ...answer } = created.body as Detail & { warnings?: string[] };
    expect(read.body).toEqual(answer);
  });
});
