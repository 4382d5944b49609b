// Where the cross-hub penalty goes (docs/benchmarks-history.md, round 53): one single SQLite hub and
// one 3-hub PostgreSQL cluster (fsync on), each with N load agents connected, both up for the whole
// sitting; then PAIRS fan-outs on each, interleaved (single then cluster, cluster then single, …), so
// that both sides see the same machine minute by minute. Per fan-out it records stage timestamps and
// the CPU of every process on the path, then prints each stage's median and spread:
//
//   POST sent → (cluster) the create's commit (PostgreSQL's commit timestamp of its
//   `rollout.created` event) → each hub's first mark committed and first agent's receipt → each
//   hub's last receipt; the single hub: POST → first receipt → last receipt.
//
// CPU over POST → last receipt: each hub process (every thread, /proc/<pid>/task/*/schedstat), its
// PostgreSQL backends (matched by the connection's client port) and the load generator. GC over the
// same window: every Node process it starts is preloaded with gc-pauses.cjs, and each hub's and load
// generator's pauses (all kinds, and mark-compacts alone) are summed per fan-out.
//
//   BENCH_PAIRS=20 BENCH_AGENTS=10000 node node_modules/vite-node/vite-node.mjs tests/performance/cluster-stages.ts
//
// With BENCH_BASE=<another build's dist/hub/cli/main.js> it compares two builds instead: a second
// 3-hub cluster (its own PostgreSQL) runs that build in place of the single hub, and the pairs
// read as base then new, new then base, … — what a change to the cluster's path moved.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Cluster, type LoadAgents } from "../support/cluster.js";
import {
  benchCount,
  fmt,
  machineNote,
  openFilesLimits,
  percentile,
  printTable,
  sleep,
  stopChild,
} from "./bench-support.mjs";
import { type Api, apiOf, BENCH_APP, releaseBody, singleHubWithAgents, wsOf } from "./cluster-api.js";

const run = promisify(execFile);
const HUBS = 3;
const clock = () => performance.timeOrigin + performance.now();
const { hard: openFiles } = openFilesLimits();
const agentCount = Math.min(benchCount("BENCH_AGENTS", 10_000), openFiles - 512);
const pairs = benchCount("BENCH_PAIRS", 20);
const baseMain = process.env.BENCH_BASE;

/** CPU time in ms of every thread of `pid` (schedstat: ns on a core), NaN when it is gone. */
function threadsCpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

interface Side {
  api: Api;
  load: LoadAgents;
  n: number;
  /** Processes whose CPU is read, by label. */
  pids: () => Promise<Map<string, number[]>>;
  /** Before the POST: forget the database's statement statistics (cluster only). */
  resetStatements?: () => Promise<void>;
  /** Stage timestamps from the database, after the deploys arrived (cluster only). */
  stages?: (rolloutId: string, t0: number) => Promise<Pick<Sample, "at" | "db">>;
  hubUrls: string[];
}

interface Sample {
  /** Stage → ms after the POST was sent. */
  at: Record<string, number>;
  /** Process label → CPU ms over POST → last receipt. */
  cpu: Record<string, number>;
  /** Statement → the database's time (execution + planning, ms) and calls over the fan-out. */
  db: Record<string, { ms: number; calls: number }>;
  /** Process label → its GC pauses over POST → last receipt (ms): all, and mark-compacts only. */
  gc: Record<string, number>;
}

/** Where the processes this probe starts log their GC pauses (gc-pauses.cjs), set before any starts. */
const gcDir = await mkdtemp(join(tmpdir(), "ship-cluster-stages-gc-"));
process.env.GC_PAUSES_DIR = gcDir;
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --require ${resolve("tests/performance/gc-pauses.cjs")}`;
const MARK_COMPACT = 4;

/** GC pauses of `pid` that started in [from, to]: their sum in ms, and that of the mark-compacts. */
function gcPauses(pid: number, from: number, to: number): { all: number; major: number } {
  const file = join(gcDir, `${pid}.log`);
  const out = { all: 0, major: 0 };
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [at, ms, kind] = line.split(" ").map(Number);
    if (at === undefined || ms === undefined || !(at >= from && at <= to)) continue;
    out.all += ms;
    if (kind === MARK_COMPACT) out.major += ms;
  }
  return out;
}

let version = 0;

/** One 100 % rollout on `side`, its reports, and the wait until it completed. */
async function fanOut(side: Side): Promise<Sample> {
  const release = (await side.api("POST", "/releases", releaseBody(`2.0.${++version}`))) as { id: string };
  await side.load.call("reset-deploys");
  const deploys = side.load.call("await-deploys", { count: side.n, timeoutMs: 120_000 });
  const pids = await side.pids();
  const cpuOf = () => new Map([...pids].map(([k, ps]) => [k, ps.reduce((s, p) => s + threadsCpuMs(p), 0)]));
  await side.resetStatements?.();
  const before = cpuOf();
  const t0 = clock();
  let answered = 0;
  const created = side
    .api("POST", "/rollouts", { release: release.id, waves: [{ name: "all", percent: 100 }] })
    .then((r) => {
      answered = clock() - t0;
      return r as { id: string };
    });
  const { arrivals, byUrl, missing } = await deploys;
  const after = cpuOf();
  const rollout = await created;
  if (missing > 0) throw new Error(`${missing} agents without a deploy`);
  const since = (ats: number[]) => ats.map((a) => a - t0).sort((a, b) => a - b);
  const all = since(arrivals);
  const at: Record<string, number> = {
    "POST answered": answered,
    "first receipt": all[0] ?? Number.NaN,
    "receipts p50": percentile(all, 50),
    "receipts p99": percentile(all, 99),
    "last receipt": all.at(-1) ?? Number.NaN,
  };
  if (side.hubUrls.length > 1)
    side.hubUrls.forEach((url, i) => {
      const mine = since(byUrl[wsOf(url)] ?? []);
      at[`hub ${i + 1} first receipt`] = mine[0] ?? Number.NaN;
      at[`hub ${i + 1} last receipt`] = mine.at(-1) ?? Number.NaN;
    });
  const gc: Record<string, number> = {};
  const gcOf = new Map([...pids].filter(([label]) => !label.includes("backends")));
  if (side.load.pid !== undefined) gcOf.set("load generator", [side.load.pid]);
  for (const [label, ps] of gcOf) {
    const pauses = ps.map((p) => gcPauses(p, t0, t0 + (at["last receipt"] ?? 0)));
    gc[label] = pauses.reduce((sum, p) => sum + p.all, 0);
    gc[`${label}, mark-compact`] = pauses.reduce((sum, p) => sum + p.major, 0);
  }
  const fromDb = await side.stages?.(rollout.id, t0);
  Object.assign(at, fromDb?.at);
  const cpu: Record<string, number> = {};
  for (const [label, ms] of after) cpu[label] = ms - (before.get(label) ?? 0);
  // The report storm after it: every agent's result, acked after commit.
  const beforeReports = cpuOf();
  const reported = await side.load.call("report");
  const afterReports = cpuOf();
  for (const [label, ms] of afterReports) cpu[`reports: ${label}`] = ms - (beforeReports.get(label) ?? 0);
  at["reports: all sent → last ack (not after the POST)"] = reported.lastAckAt - reported.sentAt;
  for (let i = 0; ; i++) {
    const detail = (await side.api("GET", `/rollouts/${rollout.id}`)) as { state?: string };
    if (detail.state === "completed") break;
    if (i > 600) throw new Error(`rollout ${rollout.id} still ${detail.state}`);
    await sleep(100);
  }
  return { at, cpu, db: fromDb?.db ?? {}, gc };
}

async function singleHub(work: string): Promise<{ side: Side; stop: () => Promise<void> }> {
  const { hub, load, tokens, connect } = await singleHubWithAgents(work, agentCount, openFiles);
  const hubPid = hub.child.pid ?? 0;
  return {
    side: {
      api: apiOf(hub.url, tokens),
      load,
      n: connect.connected,
      hubUrls: [hub.url],
      pids: async () => new Map([["hub", [hubPid]]]),
    },
    stop: async () => {
      load.kill();
      await stopChild(hub.child);
    },
  };
}

/** PostgreSQL backend pids by the hub process holding the other end of their connection. */
async function backendsByHub(cluster: Cluster, port: number): Promise<Map<number, number[]>> {
  const { stdout } = await run("ss", ["-tnpH", "state", "established", "dst", `127.0.0.1:${port}`]);
  const pidOfLocalPort = new Map<number, number>();
  for (const line of stdout.split("\n")) {
    const local = /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:\d+/.exec(line);
    const pid = /pid=(\d+)/.exec(line);
    if (local?.[1] && pid?.[1]) pidOfLocalPort.set(Number(local[1]), Number(pid[1]));
  }
  const out = new Map<number, number[]>();
  const rows = await cluster.must()`SELECT pid, client_port FROM pg_stat_activity WHERE client_port > 0`;
  for (const row of rows) {
    const owner = pidOfLocalPort.get(Number(row.client_port));
    if (owner !== undefined) out.set(owner, [...(out.get(owner) ?? []), Number(row.pid)]);
  }
  return out;
}

async function hubCluster(hubMain?: string): Promise<{ side: Side; stop: () => Promise<void> }> {
  const cluster = await Cluster.start({
    ...(hubMain === undefined ? {} : { hubMain }),
    hubs: HUBS,
    durable: true,
    openFiles,
    postgres: {
      settings: [
        "track_commit_timestamp=on",
        "shared_preload_libraries=pg_stat_statements",
        "pg_stat_statements.track=all",
        "pg_stat_statements.track_planning=on",
      ],
    },
    hub: { tick_interval_seconds: 1, ping_interval_seconds: 30 },
  });
  const { load, agents } = await cluster.loadAgents(agentCount);
  let connected = 0;
  for (let hub = 0; hub < HUBS; hub++) {
    const answer = await load.call("connect", {
      url: wsOf(cluster.hub(hub).url),
      agents: agents.filter((_, i) => i % HUBS === hub),
      mode: "hub",
      app: BENCH_APP,
      inFlight: 256,
      reconnectUrl: wsOf(cluster.frontUrl),
    });
    connected += answer.connected;
  }
  const sql = cluster.must();
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  await cluster.waitFor(
    "every agent online",
    async () => (await sql`SELECT count(*)::int AS n FROM agents WHERE online`)[0]?.n === connected,
    120_000,
  );
  const pgPort = Number(new URL(cluster.databaseUrl).port);
  const hubPids = cluster.hubs.map((h) => h.child?.pid ?? 0);
  // Hub ids as the agents' rows name them, in hub order: the hub holding agent i holds i mod HUBS.
  const hubIds: string[] = [];
  for (let hub = 0; hub < HUBS; hub++) {
    const [row] = await sql`SELECT hub_id FROM agents WHERE id = ${agents[hub]?.id ?? ""}`;
    hubIds.push(String(row?.hub_id));
  }
  return {
    side: {
      api: apiOf(cluster.hub(0).url, cluster),
      load,
      n: connected,
      hubUrls: cluster.hubs.map((h) => h.url),
      pids: async () => {
        const backends = await backendsByHub(cluster, pgPort);
        const map = new Map<string, number[]>();
        hubPids.forEach((pid, i) => {
          map.set(`hub ${i + 1}`, [pid]);
          map.set(`hub ${i + 1}'s backends`, backends.get(pid) ?? []);
        });
        return map;
      },
      resetStatements: async () => {
        await sql`SELECT pg_stat_statements_reset()`;
      },
      stages: async (rolloutId, t0) => {
        const ms = (ts: unknown) => (ts instanceof Date ? ts.getTime() - t0 : Number.NaN);
        const [created] = await sql`SELECT pg_xact_commit_timestamp(xmin) AS at FROM events
          WHERE kind = 'rollout.created' AND subject = ${rolloutId}`;
        const [row] = await sql`SELECT created FROM rollouts WHERE id = ${rolloutId}`;
        const db: Sample["db"] = {};
        const out: Record<string, number> = {
          // The hub's clock when its create took the fleet lock and read the agents.
          "create's clock read (rollouts.created)": Number(row?.created) - t0,
          "create committed": ms(created?.at),
        };
        const marks = await sql`SELECT a.hub_id, min(pg_xact_commit_timestamp(d.xmin)) AS first
          FROM deployments d JOIN agents a ON a.id = d.agent_id
          WHERE d.rollout_id = ${rolloutId} GROUP BY a.hub_id`;
        for (const row of marks) {
          const i = hubIds.indexOf(String(row.hub_id));
          if (i > 0) out[`hub ${i + 1} first mark committed`] = ms(row.first);
        }
        // The database's time per statement shape over the fan-out (exec + planning, all backends).
        for (const row of await sql`SELECT left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 70) AS q,
            sum(calls)::int AS calls, sum(total_exec_time + total_plan_time) AS ms
          FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
          GROUP BY 1 ORDER BY 3 DESC LIMIT 12`)
          db[String(row.q)] = { ms: Number(row.ms), calls: Number(row.calls) };
        return { at: out, db };
      },
    },
    stop: async () => {
      await cluster.close();
    },
  };
}

function summarize(title: string, samples: Sample[]): void {
  const keys = (pick: (s: Sample) => Record<string, number>) => [
    ...new Set(samples.flatMap((s) => Object.keys(pick(s)))),
  ];
  const row = (label: string, values: number[]) => {
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    return [
      label,
      fmt.ms(percentile(sorted, 50)),
      `${fmt.ms(percentile(sorted, 25))} – ${fmt.ms(percentile(sorted, 75))}`,
      `${fmt.ms(sorted[0] ?? Number.NaN)} – ${fmt.ms(sorted.at(-1) ?? Number.NaN)}`,
    ];
  };
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  // In the order the stages happen (by their medians).
  const stageKeys = keys((s) => s.at).sort(
    (a, b) => median(samples.map((s) => s.at[a] ?? 0)) - median(samples.map((s) => s.at[b] ?? 0)),
  );
  printTable(
    `${title}: ms after the POST (${samples.length} fan-outs of ${fmt.int(agentCount)} agents)`,
    ["stage", "median", "p25 – p75", "min – max"],
    [
      ...stageKeys.map((k) =>
        row(
          k,
          samples.map((s) => s.at[k] ?? Number.NaN),
        ),
      ),
      ...keys((s) => s.cpu).map((k) =>
        row(
          `CPU ${k}`,
          samples.map((s) => s.cpu[k] ?? Number.NaN),
        ),
      ),
      ...keys((s) => s.gc).map((k) =>
        row(
          `GC pauses ${k}`,
          samples.map((s) => s.gc[k] ?? Number.NaN),
        ),
      ),
    ],
  );
  const statements = keys((s) => Object.fromEntries(Object.keys(s.db).map((k) => [k, 0])));
  if (statements.length === 0) return;
  const rows = statements
    .map((q) => ({
      q,
      ms: samples.map((s) => s.db[q]?.ms ?? 0),
      calls: samples.map((s) => s.db[q]?.calls ?? 0),
    }))
    .sort((a, b) => median(b.ms) - median(a.ms));
  printTable(
    `${title}: the database's time per statement over a fan-out (pg_stat_statements, every backend)`,
    ["statement", "calls", "median", "p25 – p75"],
    rows.map(({ q, ms, calls }) => {
      const sorted = [...ms].sort((a, b) => a - b);
      return [
        q,
        String(median(calls)),
        fmt.ms(median(ms)),
        `${fmt.ms(percentile(sorted, 25))} – ${fmt.ms(percentile(sorted, 75))}`,
      ];
    }),
  );
}

const fanOutCpu = (s: Sample | undefined) =>
  Object.entries(s?.cpu ?? {})
    .filter(([k]) => !k.startsWith("reports:"))
    .reduce((sum, [, ms]) => sum + ms, 0);
/** Every GC pause on the fan-out's path (hubs and load generator), mark-compacts included once. */
const gcSum = (s: Sample | undefined) =>
  Object.entries(s?.gc ?? {})
    .filter(([k]) => !k.endsWith("mark-compact"))
    .reduce((sum, [, ms]) => sum + ms, 0);
const work = await mkdtemp(join(tmpdir(), "ship-cluster-stages-"));
const single = baseMain === undefined ? await singleHub(work) : await hubCluster(baseMain);
const cluster = await hubCluster();
const ones: Sample[] = [];
const manies: Sample[] = [];
try {
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? ["single", "cluster"] : ["cluster", "single"];
    for (const which of order) {
      const sample = await fanOut(which === "single" ? single.side : cluster.side);
      (which === "single" ? ones : manies).push(sample);
    }
    const one = ones.at(-1);
    const many = manies.at(-1);
    if (one && many)
      console.log(
        `pair ${pair + 1} (${baseMain === undefined ? order[0] : order[0] === "single" ? "base" : "new"} first): p50 ${fmt.ms(one.at["receipts p50"] ?? 0)} / ${fmt.ms(many.at["receipts p50"] ?? 0)}, ` +
          `p99 ${fmt.ms(one.at["receipts p99"] ?? 0)} / ${fmt.ms(many.at["receipts p99"] ?? 0)}, ` +
          `commit ${baseMain === undefined ? "" : `+${fmt.ms(one.at["create committed"] ?? 0)} / `}+${fmt.ms(many.at["create committed"] ?? 0)}, ` +
          `CPU ${fmt.ms(fanOutCpu(one))} / ${fmt.ms(fanOutCpu(many))}, GC pauses ${fmt.ms(gcSum(one))} / ${fmt.ms(gcSum(many))}, load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`,
      );
  }
} finally {
  await single.stop();
  await cluster.stop();
  await rm(work, { recursive: true, force: true });
  await rm(gcDir, { recursive: true, force: true });
}
const penalty = (q: string) => manies.map((m, i) => (m.at[q] ?? Number.NaN) - (ones[i]?.at[q] ?? Number.NaN));
const [oneName, manyName] =
  baseMain === undefined
    ? ["1 hub, SQLite", `${HUBS} hubs, PostgreSQL`]
    : ["base build, 3 hubs", "this build, 3 hubs"];
summarize(oneName, ones);
summarize(manyName, manies);
summarize(
  baseMain === undefined ? "penalty, pair by pair (cluster − single)" : "pair by pair (this − base)",
  [
    ...penalty("receipts p50").map((p50, i) => ({
      at: {
        "p50 penalty": p50,
        "p99 penalty": penalty("receipts p99")[i] ?? Number.NaN,
        // Two builds only (the single hub has no commit stamp): the create's commit, and the CPU of
        // every process (hubs and their backends) from the POST to the last receipt.
        "create committed": penalty("create committed")[i] ?? Number.NaN,
        "CPU of the fan-out": fanOutCpu(manies[i]) - fanOutCpu(ones[i]),
      },
      cpu: {},
      db: {},
      gc: {},
    })),
  ],
);
console.log(`measured on ${machineNote()}; every process shares the machine`);
