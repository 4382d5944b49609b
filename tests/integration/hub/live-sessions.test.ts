/**
 * A token checked at connect is checked again while the connection lives: `ship-hub token revoke`
 * (a separate process writing the hub's database) closes that token's agent WebSocket and operator
 * event streams within seconds, and a token's `exp` closes them when it passes — unless, for an
 * agent, the hub renewed it first: it does at half its lifetime, however short.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveSessions } from "../../../hub/auth/live-sessions.js";
import { memoryLogger } from "../../../shared/log.js";
import { isType, startTestHub, TestAgent, type TestHub } from "./support.js";

const run = promisify(execFile);
const HUB_CLI = resolve("dist/hub/cli/main.js");

let t: TestHub;
beforeAll(async () => {
  if (!existsSync(HUB_CLI)) throw new Error(`${HUB_CLI} missing: build first (npm test does)`);
  // Artifacts bigger than the sockets' buffers, so a transfer is still under way when a token ends.
  t = await startTestHub({ sessionCheckMs: 200, maxArtifactBytes: 64 << 20 });
});
afterAll(async () => {
  await t.stop();
});

const revokeWithCli = (jti: string) =>
  run(process.execPath, [HUB_CLI, "token", "revoke", jti, "--data-dir", t.dir]);

const report = () => ({
  type: "report",
  reportId: randomUUID(),
  app: "web",
  outcome: "succeeded",
  fromVersion: "1.0.0",
  toVersion: "1.0.0",
  steps: [],
});

async function openStream(token: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const res = await fetch(`${t.hub.url}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (res.body as ReadableStream<Uint8Array>).getReader();
}

/** Reads until the stream ends; rejects when it is still open after `ms`. */
async function streamEnds(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("the stream is still open");
    const next = await Promise.race([
      reader.read(),
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left)),
    ]);
    if (next === "timeout") throw new Error("the stream is still open");
    if (next.done) return;
  }
}

describe("revoked and expired tokens end live sessions", () => {
  it("token revoke (the CLI, another process) closes the agent's WebSocket within seconds and it cannot reconnect", async () => {
    const { token, record } = await t.hub.tokens.issue({
      role: "agent",
      agentId: "revoked-1",
      ttlSeconds: 3600,
    });
    const agent = await TestAgent.connect(t.hub.url, token);
    agent.hello("revoked-1");
    const first = report();
    agent.send(first);
    expect(await agent.next(isType("ack"))).toMatchObject({ reportId: first.reportId });

    const closed = agent.closed();
    const started = Date.now();
    await revokeWithCli(record.jti);
    const { code } = await closed;
    expect(code).toBe(4001);
    expect(Date.now() - started).toBeLessThan(10_000);
    // And it cannot come back.
    await expect(TestAgent.connect(t.hub.url, token)).rejects.toThrow(/401/);
  });

  it("a message sent right after token revoke is refused at once: not stored, not acked, the socket closed 4001", async () => {
    // A periodic check that never comes within the test: only the check at apply time can refuse.
    const slow = await startTestHub({ sessionCheckMs: 600_000 });
    try {
      const { token, record } = await slow.hub.tokens.issue({
        role: "agent",
        agentId: "revoked-now",
        ttlSeconds: 3600,
      });
      const agent = await TestAgent.connect(slow.hub.url, token);
      agent.hello("revoked-now");
      const first = report();
      agent.send(first);
      expect(await agent.next(isType("ack"))).toMatchObject({ reportId: first.reportId });
      await run(process.execPath, [HUB_CLI, "token", "revoke", record.jti, "--data-dir", slow.dir]);
      const closed = agent.closed();
      const late = report();
      agent.send(late);
      // Acked (taken after the revocation) or closed, whichever comes first.
      const outcome = await Promise.race([
        closed,
        agent.next(isType("ack"), 10_000).then((ack) => ({ code: `acked ${ack.reportId}` })),
      ]);
      expect(outcome.code).toBe(4001);
      expect(agent.received.filter((m) => m.type === "ack")).toEqual([]);
      const stored = await slow.hub.store.listReports("revoked-now", 10);
      expect(stored.map((r) => r.id)).toEqual([`revoked-now/${first.reportId}`]);
    } finally {
      await slow.stop();
    }
  });

  it("an event committed after token revoke is not announced on that token's stream: the stream ends first", async () => {
    // A periodic check that never comes within the test: only the check before sending can end it.
    const slow = await startTestHub({ sessionCheckMs: 600_000 });
    // One read outstanding per stream across calls: a read abandoned at a timeout would swallow
    // the next chunk.
    const pending = new Map<
      ReadableStreamDefaultReader<Uint8Array>,
      ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>
    >();
    // Returns once `until` matches what was read or the stream ends: only a stream that stays open
    // without it sits out all of `ms`, which is a bound for that, not the time the hub is given (1
    // and 3 s were within reach of a loaded machine).
    const text = async (reader: ReadableStreamDefaultReader<Uint8Array>, ms: number, until?: RegExp) => {
      let got = "";
      const deadline = Date.now() + ms;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0 || until?.test(got)) return { got, ended: false };
        const read = pending.get(reader) ?? reader.read();
        pending.set(reader, read);
        const next = await Promise.race([
          read,
          new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left)),
        ]);
        if (next === "timeout") return { got, ended: false };
        pending.delete(reader);
        if (next.done) return { got, ended: true };
        got += new TextDecoder().decode(next.value);
      }
    };
    // To its blank line, so that no rest of it is left to the next read.
    const WHOLE_MESSAGE = /event: changed\n(?:.+\n)*\n/;
    const open = async (token: string) => {
      const res = await fetch(`${slow.hub.url}/api/v1/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await text(reader, 15_000, WHOLE_MESSAGE)).got).toMatch(/event: changed/);
      return reader;
    };
    try {
      const revoked = await slow.hub.tokens.issue({ role: "operator", ttlSeconds: 3600 });
      const mine = await open(revoked.token);
      const others = await open(slow.operator);
      await run(process.execPath, [HUB_CLI, "token", "revoke", revoked.record.jti, "--data-dir", slow.dir]);
      const published = await slow.api("POST", "/api/v1/releases", {
        token: slow.ci,
        body: {
          app: "web",
          version: "9.0.0",
          manifest: 'version: "9.0.0"\n',
          source: { type: "git", commit: "abcdef1" },
        },
      });
      expect(published.status).toBe(201);
      expect(await text(mine, 15_000)).toEqual({ got: "", ended: true });
      expect((await text(others, 15_000, WHOLE_MESSAGE)).got).toMatch(/event: changed/);
      await others.cancel();
    } finally {
      await slow.stop();
    }
  });

  it("an agent token of 2 s is renewed at half its life, again and again: its agent stays connected past each expiry, pings a minute apart", async () => {
    const { token, record } = await t.hub.tokens.issue({ role: "agent", agentId: "short-1", ttlSeconds: 2 });
    const agent = await TestAgent.connect(t.hub.url, token);
    let closed: number | undefined;
    agent.ws.once("close", (code) => {
      closed = code;
    });
    agent.hello("short-1");
    // Past two lifetimes of the first token (the condition is the clock itself): each renewal came
    // before the token it replaced expired, or the hub would have closed the socket (4001).
    await expect
      .poll(() => Date.now() > record.expires + 2000, { timeout: 10_000, interval: 100 })
      .toBe(true);
    expect(closed).toBeUndefined();
    const renewals = agent.received.filter(isType("token"));
    expect(renewals.length).toBeGreaterThanOrEqual(2);
    // The newest renewal is in force: the agent's next connection opens with it (once the first
    // is gone: a second live connection of one agent id is refused).
    agent.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("short-1"), { timeout: 10_000 }).toBe(false);
    const again = await TestAgent.connect(t.hub.url, (renewals.at(-1) as { token: string }).token);
    again.hello("short-1");
    await expect.poll(() => t.hub.registry.isOnline("short-1"), { timeout: 10_000 }).toBe(true);
    again.ws.terminate();
  });

  it("a session whose token is not renewed is closed when its exp passes", async () => {
    const sessions = new LiveSessions(t.hub.store, memoryLogger(), Date.now, 50);
    const started = Date.now();
    const reason = await new Promise<string>((resolve) =>
      sessions.open({ jti: randomUUID(), expires: started + 300, name: "agent:never-renewed" }, resolve),
    );
    expect(reason).toBe("token expired");
    expect(Date.now()).toBeGreaterThanOrEqual(started + 300);
  });

  it("token revoke ends the operator's event stream; another operator's stream stays open", async () => {
    const revoked = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 3600 });
    const mine = await openStream(revoked.token);
    const others = await openStream(t.operator);
    await revokeWithCli(revoked.record.jti);
    // The end is awaited; 20 s bounds a stream that stays open (5 s was within a loaded machine's reach).
    await streamEnds(mine, 20_000);
    await expect(streamEnds(others, 1000)).rejects.toThrow(/still open/);
    await others.cancel();
  });

  it("an operator token's exp ends its event stream", async () => {
    const { token } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 2 });
    await streamEnds(await openStream(token), 20_000);
  });

  it("token revoke cuts an artifact download under way, and the token's exp cuts another", async () => {
    const bytes = randomBytes(48 << 20);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(put.status).toBe(201);
    /**
     * Reads 1 MB of the artifact, then stops reading until `resume`. `total`: the bytes read when
     * the response ended, cut or whole.
     */
    const slowDownload = (token: string) => {
      let resume = () => {};
      let total: Promise<number> = Promise.resolve(0);
      const paused = new Promise<void>((pausedNow, failed) => {
        const req = request(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        req.on("error", failed);
        req.end();
        req.on("response", (res) => {
          if (res.statusCode !== 200) failed(new Error(`HTTP ${res.statusCode}`));
          let got = 0;
          let stopped = false;
          total = new Promise<number>((ended) => res.once("close", () => ended(got)));
          res.on("data", (chunk: Buffer) => {
            got += chunk.length;
            if (got < 1 << 20 || stopped) return;
            stopped = true;
            res.pause();
            resume = () => res.resume();
            pausedNow();
          });
        });
      });
      return { paused, total: () => total, resume: () => resume() };
    };

    const revoked = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
    const first = slowDownload(revoked.token);
    await first.paused;
    await revokeWithCli(revoked.record.jti);
    // The periodic check (200 ms here) has run: what is left must not come.
    await new Promise((r) => setTimeout(r, 1500));
    first.resume();
    expect(await first.total()).toBeLessThan(bytes.length);

    const short = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 2 });
    const second = slowDownload(short.token);
    await second.paused;
    await new Promise((r) => setTimeout(r, Math.max(0, short.record.expires - Date.now()) + 1500));
    second.resume();
    expect(await second.total()).toBeLessThan(bytes.length);
  });

  it("token revoke cuts an artifact upload under way: nothing is stored and no artifact.uploaded event", async () => {
    const revoked = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
    const chunk = randomBytes(1 << 20);
    const hash = createHash("sha256");
    const answer = new Promise<number | string>((resolve) => {
      const req = request(`${t.hub.url}/api/v1/artifacts`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${revoked.token}`,
          "content-type": "application/octet-stream",
          "transfer-encoding": "chunked",
        },
      });
      // Sending stops at the answer: the hub answers 401 before the connection closes, and the
      // test reads the hash of what was sent once it has the answer.
      req.on("response", (res) => {
        clearInterval(timer);
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (error) => resolve(error.message));
      // 1 MB every 100 ms, for 4 s: the revocation comes in the middle, and the upload then ends.
      let sent = 0;
      const timer = setInterval(() => {
        if (sent++ === 40) {
          clearInterval(timer);
          req.end();
          return;
        }
        hash.update(chunk);
        if (!req.destroyed) req.write(chunk);
      }, 100);
      req.on("close", () => clearInterval(timer));
    });
    await new Promise((r) => setTimeout(r, 800));
    await revokeWithCli(revoked.record.jti);
    const outcome = await answer;
    expect(outcome).not.toBe(201);
    expect(await t.hub.store.getArtifactInfo(hash.digest("hex"))).toBeUndefined();
    const events = await t.hub.store.listEvents({ limit: 50 });
    expect(
      events.filter((e) => e.kind === "artifact.uploaded" && e.actor.includes(revoked.record.jti)),
    ).toEqual([]);
  });

  it("a request whose body is still arriving when its token is revoked is refused (401): nothing is published", async () => {
    const revoked = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
    const body = Buffer.from(
      JSON.stringify({
        app: "slowbody",
        version: "1.0.0",
        manifest: 'version: "1.0.0"\n',
        source: { type: "git", commit: "abcdef1" },
      }),
    );
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${t.hub.url}/api/v1/releases`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${revoked.token}`,
          "content-type": "application/json",
          "content-length": String(body.length),
        },
      });
      req.on("error", reject);
      req.on("response", (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      // Half the body now (the token is checked before the hub reads it), the rest after the revocation.
      req.write(body.subarray(0, 20));
      setTimeout(
        () => void revokeWithCli(revoked.record.jti).then(() => req.end(body.subarray(20)), reject),
        300,
      );
    });
    const { status, text } = await answer;
    expect(status).toBe(401);
    expect(JSON.parse(text)).toEqual({ error: "token revoked" });
    expect(await t.hub.store.releaseVersions("slowbody")).toEqual([]);
  });
});
