#!/usr/bin/env node
// Hub benchmark (DESIGN.md "Benchmarks", issue 5): a real `ship-hub serve` with N agents connected
// from a separate load-generator process over real WebSockets. Measures connect time, fan-out
// latency of a 100 % wave start (API call → deploy message at each connection), reports persisted
// per second, and hub RSS per agent next to a bare `ws` server holding the same N idle connections.
//
//   npm run build && node tests/performance/hub-bench.mjs    (N = 10,000)
//   BENCH_SCALE=0.05 node tests/performance/hub-bench.mjs    (N = 500)
//   BENCH_AGENTS=2000 ...                                    (N directly)
//   BENCH_HUB_TICK_SECONDS=3600 ...                          (rollout tick out of the way, to see its cost)
//   BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"      (profile the hub)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  benchCount,
  benchScale,
  fmt,
  ipcCall,
  machineNote,
  openFilesLimits,
  percentile,
  printTable,
  procCpuMs,
  procStatusKb,
  repoRoot,
  sleep,
  startNode,
  stopChild,
} from "./bench-support.mjs";

const APP = "benchapp";
const here = join(repoRoot, "tests/performance");
// e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the hub spends its time.
const hubNodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? "").split(" ").filter(Boolean);
const clock = () => performance.timeOrigin + performance.now();

let agentCount = benchCount("BENCH_AGENTS", Math.max(10, Math.round(10_000 * benchScale())));
// Each side holds one fd per connection plus its own; both raise their soft limit to the hard one.
// Stay clear of that rather than die at it.
const { hard: openFiles } = openFilesLimits();
if (agentCount > openFiles - 512) {
  console.error(
    `!! open-file limit ${openFiles} is too low for ${agentCount} agents: measuring ${openFiles - 512}`,
  );
  console.error("!! raise it (ulimit -Hn, LimitNOFILE=) to measure the full fleet");
  agentCount = openFiles - 512;
}
const work = mkdtempSync(join(tmpdir(), "ship-hub-bench-"));
const children = [];

try {
  const ours = await benchHub();
  const bare = await benchBareWs();
  report(ours, bare);
} finally {
  for (const child of children) await stopChild(child);
  rmSync(work, { recursive: true, force: true });
}

async function benchHub() {
  const dataDir = join(work, "hub");
  const tokensFile = join(work, "tokens.json");
  const minted = spawnSync(
    process.execPath,
    [join(here, "mint-tokens.mjs"), dataDir, String(agentCount), tokensFile],
    {
      stdio: "inherit",
    },
  );
  if (minted.status !== 0) throw new Error("minting tokens failed");
  const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
  // The hub's defaults, except quiet logs; BENCH_HUB_TICK_SECONDS isolates the rollout tick's share.
  const tick = process.env.BENCH_HUB_TICK_SECONDS;
  writeFileSync(
    join(work, "hub.toml"),
    `log_level = "warn"\nport = 0\n${tick ? `tick_interval_seconds = ${Number(tick)}\n` : ""}`,
  );

  const hub = startNode(
    [
      ...hubNodeArgs,
      "dist/hub/cli/main.js",
      "serve",
      "--config",
      join(work, "hub.toml"),
      "--data-dir",
      dataDir,
    ],
    {
      ready: /listening on (http:\/\/\S+)/,
      openFiles,
    },
  );
  children.push(hub.child);
  const [, url] = await hub.started;
  const api = apiClient(url, tokens.operator);
  const release = await apiClient(url, tokens.ci)("POST", "/releases", {
    app: APP,
    version: "2.0.0",
    manifest: 'version: "2.0.0"\n',
    source: { type: "http", url: "http://127.0.0.1:9/benchapp-2.0.0.tar.gz", sha256: "0".repeat(64) },
  });
  await sleep(500);
  const idleKb = procStatusKb(hub.child.pid, "VmRSS");

  const load = await forkLoadGenerator();
  const cpu = cpuMeter(hub.child.pid, load.pid);
  const connect = await ipcCall(load, {
    cmd: "connect",
    url: `${url.replace(/^http/, "ws")}/api/v1/agent`,
    agents: tokens.agents,
    mode: "hub",
    app: APP,
    inFlight: 256,
  });
  const connectStart = clock() - connect.connectMs;
  const db = new Database(join(dataDir, "hub.db"), { readonly: true, fileMustExist: true });
  const online = db.prepare("SELECT count(*) AS n FROM agents WHERE online = 1");
  await until(() => online.get().n >= connect.connected, 60_000);
  const registeredMs = clock() - connectStart;
  const connectCpu = cpu.lap();
  await sleep(1000);
  const connectedKb = procStatusKb(hub.child.pid, "VmRSS");

  // Fan-out: from just before the API call that creates (and starts) the rollout to each deploy.
  const deploys = ipcCall(load, { cmd: "await-deploys", count: connect.connected, timeoutMs: 60_000 });
  cpu.lap();
  const t0 = clock();
  const created = api("POST", "/rollouts", {
    release: release.id,
    waves: [{ name: "all", percent: 100 }],
  }).then(() => clock() - t0);
  const { arrivals, missing } = await deploys;
  // Up to the last deploy, not the API answer: the answer (every agent's state) is built after the sends.
  const fanoutCpu = cpu.lap();
  const apiMs = await created;
  const latencies = arrivals.map((at) => at - t0).sort((a, b) => a - b);

  // Reports: all agents report at once; persisted = the reports table holds them all.
  const reports = db.prepare("SELECT count(*) AS n FROM reports");
  const before = reports.get().n;
  cpu.lap();
  const sending = ipcCall(load, { cmd: "report" });
  await until(() => reports.get().n - before >= arrivals.length, 120_000, 10);
  const persistedAt = clock();
  const reportCpu = cpu.lap();
  const sent = await sending;
  const persistMs = persistedAt - sent.sentAt;
  const persistedKb = procStatusKb(hub.child.pid, "VmRSS");
  db.close();
  await ipcCall(load, { cmd: "close" }).catch(() => {});
  await stopChild(hub.child);

  return {
    n: connect.connected,
    failed: connect.failed,
    connectMs: connect.connectMs,
    connectCpu,
    fanoutCpu,
    reportCpu,
    registeredMs,
    apiMs,
    latencies,
    missing,
    persistMs,
    ackMs: sent.lastAckAt - sent.sentAt,
    reportsPerSecond: (arrivals.length / persistMs) * 1000,
    idleKb,
    connectedKb,
    persistedKb,
    perAgentKb: (connectedKb - idleKb) / connect.connected,
  };
}

async function benchBareWs() {
  const server = startNode([join(here, "bare-ws-server.mjs")], { ready: /listening on (\d+)/, openFiles });
  children.push(server.child);
  const [, port] = await server.started;
  await sleep(500);
  const idleKb = procStatusKb(server.child.pid, "VmRSS");
  const load = await forkLoadGenerator();
  const cpu = cpuMeter(server.child.pid, load.pid);
  const agents = Array.from({ length: agentCount }, (_, i) => ({ id: `bare-${i}`, token: "" }));
  const connect = await ipcCall(load, {
    cmd: "connect",
    url: `ws://127.0.0.1:${port}/`,
    agents,
    mode: "bare",
    app: APP,
    inFlight: 256,
  });
  const connectCpu = cpu.lap();
  await sleep(1000);
  const connectedKb = procStatusKb(server.child.pid, "VmRSS");
  await ipcCall(load, { cmd: "close" }).catch(() => {});
  await stopChild(server.child);
  return {
    n: connect.connected,
    connectMs: connect.connectMs,
    connectCpu,
    idleKb,
    connectedKb,
    perAgentKb: (connectedKb - idleKb) / connect.connected,
  };
}

function report(ours, bare) {
  const sorted = ours.latencies;
  const p = (q) => fmt.ms(percentile(sorted, q));
  const rate = (n, ms) => `${fmt.int((n / ms) * 1000)}/s`;
  printTable(
    `hub: ${fmt.int(ours.n)} agents (target 10,000) on real WebSockets from a separate process`,
    ["measure", "ship-hub", "bare ws server", "target"],
    [
      [
        "connected",
        fmt.int(ours.n) + (ours.failed ? ` (${ours.failed} failed)` : ""),
        fmt.int(bare.n),
        "10,000",
      ],
      ["time to connect N (upgrades done)", fmt.ms(ours.connectMs), fmt.ms(bare.connectMs), ""],
      ["  … and registered online (hello stored)", fmt.ms(ours.registeredMs), "-", ""],
      ["  connections per second", rate(ours.n, ours.connectMs), rate(bare.n, bare.connectMs), ""],
      [
        "  server CPU time while connecting",
        fmt.ms(ours.connectCpu.server),
        fmt.ms(bare.connectCpu.server),
        "",
      ],
      ["  load generator CPU time", fmt.ms(ours.connectCpu.load), fmt.ms(bare.connectCpu.load), ""],
      ["fan-out: POST /rollouts answered", fmt.ms(ours.apiMs), "-", ""],
      ["fan-out: first deploy arrives", p(0), "-", ""],
      ["fan-out latency p50", p(50), "-", ""],
      ["fan-out latency p99", p(99), "-", "≤ 1 s"],
      ["fan-out latency max", p(100), "-", ""],
      ["  agents without a deploy", String(ours.missing), "-", "0"],
      ["  hub CPU time, API call → last deploy", fmt.ms(ours.fanoutCpu.server), "-", ""],
      ["  load generator CPU time", fmt.ms(ours.fanoutCpu.load), "-", ""],
      ["reports: all N sent → all persisted", fmt.ms(ours.persistMs), "-", ""],
      ["reports persisted per second", `${fmt.int(ours.reportsPerSecond)}/s`, "-", "≥ 5,000/s"],
      ["  hub CPU time for the N reports", fmt.ms(ours.reportCpu.server), "-", ""],
      ["  reports per hub CPU-second", rate(ours.n, ours.reportCpu.server), "-", ""],
      ["  load generator CPU time", fmt.ms(ours.reportCpu.load), "-", ""],
      ["RSS idle", fmt.kb(ours.idleKb), fmt.kb(bare.idleKb), ""],
      ["RSS with N connected", fmt.kb(ours.connectedKb), fmt.kb(bare.connectedKb), ""],
      ["RSS after the reports", fmt.kb(ours.persistedKb), "-", ""],
      ["RSS per agent", fmt.kb(ours.perAgentKb), fmt.kb(bare.perAgentKb), "≤ 30 KB"],
    ],
  );
  console.log(`measured on ${machineNote()}; load generator and hub share the machine`);
}

/** CPU time of the server and the load generator since the previous lap. */
function cpuMeter(serverPid, loadPid) {
  let last = { server: procCpuMs(serverPid), load: procCpuMs(loadPid) };
  return {
    lap() {
      const now = { server: procCpuMs(serverPid), load: procCpuMs(loadPid) };
      const used = { server: now.server - last.server, load: now.load - last.load };
      last = now;
      return used;
    },
  };
}

async function forkLoadGenerator() {
  const { child } = startNode([join(here, "load-agents.mjs")], { ipc: true, openFiles });
  children.push(child);
  child.stdout.resume();
  await new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`load generator exited (${code})`)));
  });
  return child;
}

function apiClient(base, token) {
  return async (method, path, body) => {
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

async function until(check, timeoutMs, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
