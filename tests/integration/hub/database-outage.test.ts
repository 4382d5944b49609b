/**
 * A hub on PostgreSQL whose database goes away: API calls answer 503 saying the database is
 * unreachable (not "500 internal error", which names nothing), so `ship-hub rollout list` prints
 * one line an operator can act on and exits 1; the hub process itself stays up.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { runHubCli } from "../../support/hub-cli.js";
import { steppedClocks } from "../../support/stepped-clocks.js";
import { manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

/** Whether `promise` has settled yet: a request answered while another still waits, by order. */
function settledFlag(promise: Promise<unknown>): { readonly settled: boolean } {
  const flag = { settled: false };
  promise.then(
    () => {
      flag.settled = true;
    },
    () => {
      flag.settled = true;
    },
  );
  return flag;
}
describe.runIf(canRunCluster())("a hub whose PostgreSQL is down", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 1 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("ship-hub rollout list: exit 1, one line saying the hub's database is unreachable", async () => {
    const hub = cluster.hub(0);
    const rolloutList = () =>
      runHubCli(cluster.dir, ["rollout", "list", "--hub", hub.url], { SHIP_HUB_TOKEN: cluster.operator });
    const before = await rolloutList();
    expect(before.code, before.stderr).toBe(0);
    await cluster.stopDatabase();
    const run = await rolloutList();
    // Under load this failed twice with "cannot reach the hub" (the hub gone, not answering 503),
    // and never since, alone or in bursts of four: whatever happens next time, the failure shows
    // whether the hub process was still there and what it logged last.
    const log = await readFile(hub.logFile, "utf8").catch(() => "");
    const said = `exit ${run.code}: ${run.stderr.trim()}; hub process exit=${hub.child?.exitCode} signal=${hub.child?.signalCode}; hub log tail:\n${log.slice(-2000)}`;
    expect(run.code, said).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines, said).toHaveLength(1);
    expect(lines[0], said).toMatch(/503.*database is unreachable/);
    expect(hub.child?.exitCode, said).toBeNull();
  }, 120_000);
});

/**
 * One hub on SQLite whose hub.db another process holds locked (an operator's `sqlite3 hub.db` left
 * inside a write transaction, a tool's long write): better-sqlite3 waited for the lock inside the
 * call (busy_timeout 5000), so the whole hub stopped 5 s per write, one write after another — no
 * WebSocket ping, no API answer, no dashboard — and each write then failed as a 500 "internal
 * error". The hub now waits on timers: it goes on answering, a write that waits past its time is a
 * 503 with Retry-After saying the database is locked, and one the lock is let go for in time is
 * taken. The lock is held by a real second process (node with better-sqlite3); the hub is real
 * (in process) over real HTTP and WebSocket.
 */
describe("a hub whose SQLite file another process holds locked", () => {
  /** A second process inside a write transaction on `file` until `release()`. */
  async function holdWriteLock(file: string) {
    const script = `const db = new (require("better-sqlite3"))(process.argv[1]);
      db.exec("BEGIN IMMEDIATE"); console.log("locked");
      process.stdin.once("data", () => { db.exec("COMMIT"); db.close(); process.exit(0); });`;
    const child = spawn(process.execPath, ["-e", script, file], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (data: Buffer) => data.toString().includes("locked") && resolve());
      child.once("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    return {
      release: async () => {
        child.stdin.write("go\n");
        await exited;
      },
      kill: () => child.kill("SIGKILL"),
    };
  }

  /** CI's POST of a release of web at `version`: a write to the store. */
  const publishOn = (t: TestHub, version: string) =>
    fetch(`${t.hub.url}/api/v1/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/json" },
      body: JSON.stringify({
        app: "web",
        version,
        manifest: manifestText(version),
        source: { type: "git", commit: "abcdef1" },
      }),
    });

  /** The longest the event loop of this process (the hub's) went without running a 10 ms timer. */
  function loopStalls() {
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const at = performance.now();
      longest = Math.max(longest, at - last);
      last = at;
    }, 10);
    return {
      stop: () => {
        clearInterval(timer);
        return longest;
      },
    };
  }

  it("goes on answering; a write past the wait is a 503 saying so, one the lock is let go for in time is taken", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const t = await startTestHub({ log: memoryLogger(lines), lockWaitMs: 2000 });
    const token = await t.agentToken("a1");
    const holder = await holdWriteLock(join(t.dir, "hub.db"));
    try {
      const agent = await TestAgent.connect(t.hub.url, token);
      const publish = (version: string) => publishOn(t, version);
      const stalls = loopStalls();
      const refusing = publish("1.0.0");
      const refusal = settledFlag(refusing);
      // While the write waits the hub answers: before the write is refused, not within a wall-clock
      // second (which a loaded machine can outlast while the hub is not blocked at all).
      expect((await fetch(`${t.hub.url}/healthz`)).status).toBe(200);
      expect(refusal.settled, "the write was refused before /healthz answered").toBe(false);
      const refused = await refusing;
      expect(stalls.stop()).toBeLessThan(1000);
      expect({
        status: refused.status,
        retryAfter: refused.headers.get("retry-after"),
        body: await refused.json(),
      }).toEqual({
        status: 503,
        retryAfter: "5",
        body: { error: "the hub's database is locked by another process (waited 2 s for it); try again" },
      });
      // A write, and an agent's hello, the lock is let go for within their wait go through.
      const taking = publish("1.0.1");
      agent.hello("a1");
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.release();
      expect((await taking).status).toBe(201);
      await expect
        .poll(async () => (await t.hub.store.getAgent("a1"))?.online, { timeout: 10_000 })
        .toBe(true);
      const told = lines.filter((l) => /database (is locked|takes writes again)/.test(l.msg));
      expect(told.map((l) => l.level)).toEqual(["warn", "info"]);
      expect(told[0]?.data?.file).toBe(join(t.dir, "hub.db"));
    } finally {
      holder.kill();
      await t.stop();
    }
  });

  // The wait was counted on the wall clock: NTP stepping it forward while a write waited for the
  // lock refused the write at once ("waited 2 s"), the lock let go a moment later.
  it("a write waiting for the lock is taken when it is let go in time, the wall clock stepped an hour meanwhile", async () => {
    const shift = steppedClocks();
    // A wait far longer than the test's own steps (half a second and a child's release of the
    // lock): 2 s was within reach of a loaded machine, and the write was refused for that. The hour
    // the clock steps is still far past it, as before.
    const t = await startTestHub({ log: memoryLogger([]), lockWaitMs: 20_000 });
    const holder = await holdWriteLock(join(t.dir, "hub.db"));
    try {
      const publishing = publishOn(t, "2.0.0");
      await new Promise((resolve) => setTimeout(resolve, 200));
      shift.wall = 3_600_000;
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.release();
      expect((await publishing).status).toBe(201);
    } finally {
      vi.restoreAllMocks();
      holder.kill();
      await t.stop();
    }
  });

  it("answers reads (the API, the dashboard's lists) while writes wait for the lock, not after them", async () => {
    const t = await startTestHub({ log: memoryLogger([]), lockWaitMs: 3000 });
    const holder = await holdWriteLock(join(t.dir, "hub.db"));
    try {
      const get = (path: string) =>
        fetch(`${t.hub.url}/api/v1${path}`, { headers: { authorization: `Bearer ${t.operator}` } });
      const waiting: Promise<Response> = fetch(`${t.hub.url}/api/v1/releases`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/json" },
        body: JSON.stringify({
          app: "web",
          version: "1.0.0",
          manifest: manifestText("1.0.0"),
          source: { type: "git", commit: "abcdef1" },
        }),
      });
      const write = settledFlag(waiting);
      // WAL lets a read go on beside another process's write lock: it need not queue behind the
      // write that waits for that lock (the whole wait, 5 s by default, per read). Each read is
      // answered while the write still waits, not within a wall-clock second, which a loaded
      // machine can outlast with the hub not blocked at all.
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const path of ["/releases", "/agents", "/rollouts"]) {
        const answer = await get(path);
        expect({ path, status: answer.status }).toEqual({ path, status: 200 });
        expect(write.settled, `the write was refused before ${path} answered`).toBe(false);
      }
      expect((await waiting).status).toBe(503);
      // Nor behind the artifacts' sweep, whose DELETE waits for the lock as a write does.
      const sweeping = t.hub.store.deleteUnusedArtifacts(Date.now()).catch((error: unknown) => error);
      const sweep = settledFlag(sweeping);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await get("/releases")).status).toBe(200);
      expect(sweep.settled, "the sweep gave up before /releases answered").toBe(false);
      expect(String(await sweeping)).toMatch(/is locked by another process/);
      // The write refused, the store is whole: once the lock is let go the same write is taken.
      await holder.release();
      const taken = await fetch(`${t.hub.url}/api/v1/releases`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/json" },
        body: JSON.stringify({
          app: "web",
          version: "1.0.0",
          manifest: manifestText("1.0.0"),
          source: { type: "git", commit: "abcdef1" },
        }),
      });
      expect(taken.status).toBe(201);
    } finally {
      holder.kill();
      await t.stop();
    }
  });
});
