/**
 * One `ship-hub serve --database-url …` on a real PostgreSQL (the real CLI from dist, a real agent
 * connection over WebSocket): every hub command runs on the database, artifacts included, and
 * nothing is written to the working directory.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { isType, manifestText, TestAgent } from "./support.js";

const run = promisify(execFile);
const MAIN = resolve("dist/hub/cli/main.js");
const SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";

describe.skipIf(!hasPostgres())("ship-hub on PostgreSQL (one hub, real CLI)", () => {
  let pg: PostgresServer;
  let url: string;
  let dir: string;
  let child: ChildProcess | undefined;
  let hubUrl: string;
  const env = () => ({ ...process.env, SHIP_HUB_SECRET: SECRET, SHIP_HUB_DATABASE_URL: "" });

  const cli = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    (
      await run(process.execPath, [MAIN, ...args, "--database-url", url], {
        cwd: dir,
        env: { ...env(), ...extraEnv },
      })
    ).stdout;
  // Listing and revoking sign nothing, so they must not demand the cluster's shared secret.
  const noSecret = { SHIP_HUB_SECRET: "" };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: build first (npm run build)`);
    pg = await startPostgres();
    url = await pg.createDatabase();
    dir = await mkdtemp(join(tmpdir(), "ship-hub-pg-"));
    child = spawn(process.execPath, [MAIN, "serve", "--port", "0", "--database-url", url], {
      cwd: dir,
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    hubUrl = await new Promise<string>((resolveUrl, reject) => {
      let out = "";
      child?.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolveUrl(m[1]);
      });
      child?.once("exit", (code) => reject(new Error(`hub exited ${code}: ${stderr}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const api = async <T>(method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${hubUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  it("tokens, artifacts (streamed, ranges), a release, a rollout and a report all go through PostgreSQL", {
    timeout: 90_000,
  }, async () => {
    const operator = (await cli(["token", "create", "--role", "operator", "--name", "op"])).trim();
    const ci = (await cli(["token", "create", "--role", "ci"])).trim();
    const agentToken = (await cli(["token", "create", "--role", "agent", "--agent", "pg-1"])).trim();

    // The artifact lives in the database, in chunks; a Range request answers 206 with the slice.
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const put = await fetch(`${hubUrl}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ci}`, "x-sha256": sha256 },
      body: bytes,
    });
    expect(put.status).toBe(201);
    const whole = await fetch(`${hubUrl}/api/v1/artifacts/${sha256}`, {
      headers: { authorization: `Bearer ${ci}` },
    });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await fetch(`${hubUrl}/api/v1/artifacts/${sha256}`, {
      headers: { authorization: `Bearer ${ci}`, range: "bytes=100000-100099", "if-range": `"${sha256}"` },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100000-100099/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100_000, 100_100))).toBe(true);
    const db = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await db`SELECT count(*)::int AS n FROM artifact_chunks`;
      expect(row?.n).toBeGreaterThan(0);
    } finally {
      await db.end();
    }

    const release = await api<{ id: string }>("POST", "/releases", ci, {
      app: "web",
      version: "2.0.0",
      manifest: manifestText("2.0.0"),
      source: { type: "hub", sha256 },
    });
    expect(release.status).toBe(201);

    const agent = await TestAgent.connect(hubUrl, agentToken);
    agent.hello("pg-1");
    await expect
      .poll(async () => (await api<{ online: boolean }>("GET", "/agents/pg-1", operator)).body.online)
      .toBe(true);
    const created = await api<{ id: string }>("POST", "/rollouts", operator, {
      release: release.body.id,
      waves: [{ name: "all", percent: 100 }],
    });
    expect(created.status).toBe(201);
    const deploy = await agent.next(isType("deploy"), 15_000);
    expect(deploy).toMatchObject({ deploymentId: `${created.body.id}:pg-1`, release: { version: "2.0.0" } });
    // The agent may fetch what it was sent; its token reads the artifact from the database.
    const fetched = await fetch(`${hubUrl}/api/v1/artifacts/${sha256}`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    expect(fetched.status).toBe(200);
    await fetched.arrayBuffer();

    const reportId = "00000000-0000-4000-8000-0000000000aa";
    const report = {
      type: "report",
      v: 1,
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: release.body.id,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [],
    };
    agent.send(report);
    expect(await agent.next(isType("ack"), 15_000)).toMatchObject({ reportId });
    // A resend is acked again and stored once.
    agent.send(report);
    expect(await agent.next(isType("ack"), 15_000)).toMatchObject({ reportId });
    await expect
      .poll(
        async () =>
          (await api<{ state: string }>("GET", `/rollouts/${created.body.id}`, operator)).body.state,
        { timeout: 15_000 },
      )
      .toBe("completed");
    const detail = await api<{ reports: unknown[] }>("GET", "/agents/pg-1", operator);
    expect(detail.body.reports).toHaveLength(1);

    // token list/revoke work on the database too (without the secret: they sign nothing); a revoked
    // token is refused by the serving hub.
    const list = JSON.parse(await cli(["token", "list", "--json"], noSecret)) as {
      jti: string;
      name: string;
    }[];
    const op = list.find((t) => t.name === "op");
    expect(list).toHaveLength(3);
    expect((await cli(["token", "revoke", op?.jti ?? ""], noSecret)).trim()).toBe(`revoked ${op?.jti}`);
    expect((await api("GET", "/rollouts", operator)).status).toBe(401);

    agent.ws.close();
    // Nothing was written where the hub ran: no SQLite file, no artifacts dir, no secret.
    expect(await readdir(dir)).toEqual([]);
  });

  it("two spellings of one version published at once: one release, the other a 409", async () => {
    const ci = (await cli(["token", "create", "--role", "ci", "--name", "race"])).trim();
    const publish = (version: string) =>
      api<{ error?: string }>("POST", "/releases", ci, {
        app: "race",
        version,
        manifest: manifestText(version),
        source: { type: "git", commit: "abcdef1" },
      });
    // Each pair's check and insert run on their own connections at once: UNIQUE (app, version)
    // tells `3.N.0` from `v3.N.0`, so only the publish lock keeps the second out.
    const pairs = await Promise.all(
      Array.from({ length: 8 }, (_, n) => Promise.all([publish(`3.${n}.0`), publish(`v3.${n}.0`)])),
    );
    for (const [n, pair] of pairs.entries()) {
      const statuses = pair.map((r) => r.status).sort();
      expect({ n, statuses }).toEqual({ n, statuses: [201, 409] });
      expect(pair.find((r) => r.status === 409)?.body.error).toMatch(/is the same version|exists/);
    }
    const listed = await api<{ releases: unknown[] }>("GET", "/releases?app=race", ci);
    expect(listed.body.releases).toHaveLength(8);
  }, 60_000);

  it("the same release published twice at once (a CI retry racing its first try): 201 and 200 with it", async () => {
    const ci = (await cli(["token", "create", "--role", "ci", "--name", "retry"])).trim();
    const publish = (version: string) =>
      api<{ id?: string }>("POST", "/releases", ci, {
        app: "retry",
        version,
        manifest: manifestText(version),
        source: { type: "git", commit: "abcdef1" },
      });
    const pairs = await Promise.all(
      Array.from({ length: 4 }, (_, n) => Promise.all([publish(`4.${n}.0`), publish(`4.${n}.0`)])),
    );
    for (const [n, pair] of pairs.entries()) {
      expect({ n, statuses: pair.map((r) => r.status).sort() }).toEqual({ n, statuses: [200, 201] });
      expect(pair[0]?.body.id).toBe(pair[1]?.body.id);
    }
    const listed = await api<{ releases: unknown[] }>("GET", "/releases?app=retry", ci);
    expect(listed.body.releases).toHaveLength(4);
  }, 60_000);
});
