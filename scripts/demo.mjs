#!/usr/bin/env node
/**
 * `npm run demo`: the whole product on one machine, in a temp dir. A hub, three simulated hosts
 * (each its own app dir, ship.toml and `ship agent` process) on sample app v1, CI publishing v2,
 * and a canary 34 % → 100 % rollout with auto-advance, shown live. Checks the outcome (every host
 * on v2, the host's config value kept, its data untouched) and exits non-zero if anything is off.
 * `--keep` leaves everything running until Ctrl-C. Uses only the built CLIs (dist/) and the HTTP API.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create as createTar } from "tar";

const execFileAsync = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HUB = join(ROOT, "dist/hub/cli/main.js");
const SHIP = join(ROOT, "dist/agent/cli/main.cjs");
const HOSTS = ["eu", "eu", "us"].map((region, i) => ({ id: `web-${i + 1}`, region, port: 9001 + i }));
const APP = "sample";
const KEEP = process.argv.includes("--keep");
const TIMEOUT_MS = 90_000;

const children = [];
let dir;
const started = Date.now();

const color = process.stdout.isTTY ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_c, t) => t;
const say = (text) => process.stdout.write(`${text}\n`);
const heading = (text) => say(`\n${color("1", `== ${text}`)} ${color("2", `(${elapsed().trim()})`)}`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;

async function main() {
  const missing = [HUB, SHIP].find((file) => !existsSync(file));
  if (missing) throw new Error(`${missing} is missing: run \`npm run build\` first (npm run demo does)`);
  dir = await mkdtemp(join(tmpdir(), "ship-demo-"));
  say(`ship demo in ${dir}`);

  heading("1. Hub");
  const dataDir = join(dir, "hub");
  await mkdir(dataDir, { recursive: true });
  // Port 0: the hub takes a free port as it listens and prints its URL. A port picked here and
  // closed again before the hub's start, seconds later on a busy machine, could be taken by then
  // (any process's listen or outgoing connection), and the hub would exit "address in use".
  await writeFile(
    join(dataDir, "hub.toml"),
    `host = "127.0.0.1"\nport = 0\ndata_dir = "${dataDir}"\ntick_interval_seconds = 0.25\nlog_level = "warn"\n`,
  );
  // The hosts install v1 while the hub's tokens are minted: both are node starts, and they add up.
  const v1 = join(dir, "releases", "1.0.0");
  const installing = writeRelease(v1, "1.0.0").then(() =>
    Promise.all(HOSTS.map((host) => installV1(host, v1))),
  );
  installing.catch(() => undefined);
  const token = async (...args) =>
    (await run(process.execPath, [HUB, "token", "create", "--data-dir", dataDir, ...args])).trim();
  // The first token creates the hub's signing secret; the rest may run side by side.
  const ci = await token("--role", "ci", "--name", "demo-ci");
  const [operator, ...agentTokens] = await Promise.all([
    token("--role", "operator", "--name", "demo-operator"),
    ...HOSTS.map((h) => token("--role", "agent", "--agent", h.id)),
  ]);
  await writeFile(join(dir, "operator.token"), `${operator}\n`, { mode: 0o600 });
  const serve = [HUB, "serve", "--config", join(dataDir, "hub.toml")];
  const listening = await waitForOutput(
    start("hub", process.execPath, serve, { log: join(dir, "hub.log") }),
    /listening on (http:\/\/\S+)/,
  );
  const hubUrl = listening[1];
  say(`hub listening on ${hubUrl}`);
  say(
    `  dashboard while it runs: ${color("1", `${hubUrl}/`)} (sign in with the token in ${join(dir, "operator.token")})`,
  );
  say(
    `  API: ${hubUrl}/api/v1/rollouts  ${hubUrl}/api/v1/agents  ${hubUrl}/api/v1/events  metrics: ${hubUrl}/metrics`,
  );
  const api = apiClient(hubUrl, operator);

  heading("2. Three hosts on sample app v1 (installed by `ship --force` from a local source)");
  await installing;
  for (const [i, host] of HOSTS.entries()) {
    await writeFile(join(host.root, "hub.token"), `${agentTokens[i]}\n`, { mode: 0o600 });
    await writeFile(host.config, shipToml(host, v1, hubUrl));
    say(`  ${host.id}: ${(await readFile(join(host.appDir, "VERSION"), "utf8")).trim()} in ${host.appDir}`);
  }

  heading("3. Agents (`ship agent`, one process per host)");
  for (const host of HOSTS) {
    host.process = start(host.id, process.execPath, [SHIP, "agent", "--config", host.config], {
      log: join(host.root, "agent.log"),
      env: { SHIP_AGENT_FAST: "1" },
    });
  }
  await waitUntil("3 agents online", async () => {
    const { agents } = await api("GET", "/agents");
    return agents.filter((a) => a.online).length === HOSTS.length;
  });
  say(`  ${HOSTS.map((h) => h.id).join(", ")} connected`);

  heading("4. CI builds v2 and publishes it");
  const v2 = join(dir, "releases", "2.0.0");
  await writeRelease(v2, "2.0.0");
  const archive = join(dir, "releases", "sample-2.0.0.tar.gz");
  await createTar({ gzip: true, file: archive, cwd: v2, portable: true }, ["."]);
  const bytes = await readFile(archive);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const upload = await fetch(`${hubUrl}/api/v1/artifacts`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${ci}`,
      "x-sha256": sha256,
      "content-type": "application/octet-stream",
    },
    body: bytes,
  });
  if (upload.status !== 201) throw new Error(`artifact upload: ${upload.status} ${await upload.text()}`);
  const release = await apiClient(hubUrl, ci)("POST", "/releases", {
    app: APP,
    version: "2.0.0",
    manifest: await readFile(join(v2, "update-manifest.yaml"), "utf8"),
    source: { type: "hub", sha256 },
  });
  say(`  uploaded ${archive.split("/").pop()} (${bytes.length} bytes, sha256 ${sha256.slice(0, 12)}…)`);
  say(`  release ${release.id}: ${APP} 2.0.0`);

  heading("5. Rollout: canary 34 % → everyone 100 %, auto-advance");
  const spec = {
    release: release.id,
    waves: [
      { name: "canary", percent: 34, waitMinutes: 0 },
      { name: "everyone", percent: 100, waitMinutes: 0 },
    ],
    failureThreshold: { count: 1 },
    autoAdvance: true,
  };
  // Wave membership hashes (rollout id, agent id); with three hosts 34 % may hold none or two.
  // The preview shows who is where before anything starts, so pick an id whose canary is one host.
  let plan;
  for (let i = 0; i < 100; i++) {
    plan = await api("POST", "/rollouts/preview", { ...spec, id: randomUUID() });
    if (plan.waves[0]?.agents.length === 1) break;
  }
  for (const wave of plan.waves)
    say(`  preview: wave "${wave.name}" gets ${wave.agents.join(", ") || "(none)"}`);
  const rollout = await api("POST", "/rollouts", { ...spec, id: plan.rolloutId });
  const final = await followRollout(api, rollout.id);

  heading("6. Checks");
  const problems = [];
  if (final.state !== "completed") problems.push(`rollout ended ${final.state}: ${final.reason ?? ""}`);
  const { agents } = await api("GET", "/agents");
  for (const host of HOSTS) {
    const version = (await readFile(join(host.appDir, "VERSION"), "utf8")).trim();
    const config = await readFile(join(host.appDir, "config.toml"), "utf8");
    const data = await readFile(join(host.appDir, "data", "orders.txt"), "utf8");
    const reported = agents.find((a) => a.id === host.id)?.apps.find((a) => a.app === APP)?.version;
    const checks = [
      [`on 2.0.0 (files)`, version === "2.0.0"],
      [`hub says 2.0.0`, reported === "2.0.0"],
      [`config port = ${host.port} kept`, config.includes(`port = ${host.port}`)],
      [`new key workers added`, config.includes("workers = 4")],
      [`data untouched`, data === host.dataText],
    ];
    for (const [what, ok] of checks) if (!ok) problems.push(`${host.id}: not ${what}`);
    say(
      `  ${host.id}: ${checks.map(([what, ok]) => `${ok ? color("32", "✓") : color("31", "✗")} ${what}`).join("  ")}`,
    );
  }
  if (problems.length > 0) {
    say(color("31", `\nFAILED:\n  ${problems.join("\n  ")}\n(logs kept in ${dir})`));
    return 1;
  }
  say(
    color(
      "32",
      `\nAll ${HOSTS.length} hosts on 2.0.0 with their own config and data, in ${elapsed().trim()}.`,
    ),
  );
  if (KEEP) {
    say(`\nStill running (--keep): dashboard ${hubUrl}/ , operator token in ${join(dir, "operator.token")}.`);
    say(
      `Try: SHIP_HUB_URL=${hubUrl} SHIP_HUB_TOKEN=$(cat ${join(dir, "operator.token")}) node ${HUB} agents`,
    );
    say("Ctrl-C stops everything and removes the temp dir.");
    await new Promise((ok) => process.once("SIGINT", ok));
  }
  return 0;
}

/** A simulated host: its own dir, ship.toml and app v1, plus the changes its people made. */
async function installV1(host, v1) {
  host.root = join(dir, "hosts", host.id);
  host.appDir = join(host.root, "app");
  host.config = join(host.root, "ship.toml");
  await mkdir(host.appDir, { recursive: true });
  await writeFile(host.config, shipToml(host, v1));
  await run(process.execPath, [SHIP, "--config", host.config, "--force", "--quiet"]);
  host.configText = `[server]\nport = ${host.port}\nname = "${host.id}"\n`;
  host.dataText = `orders of ${host.id}: ${createHash("sha256").update(host.id).digest("hex").slice(0, 12)}\n`;
  await writeFile(join(host.appDir, "config.toml"), host.configText);
  await mkdir(join(host.appDir, "data"), { recursive: true });
  await writeFile(join(host.appDir, "data", "orders.txt"), host.dataText);
}

/** One line per new hub event while the rollout runs; a table per wave as it finishes. */
async function followRollout(api, id) {
  let lastEvent = 0;
  const tabled = new Set();
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    const { events } = await api("GET", "/events?limit=200");
    for (const event of events.filter((e) => e.id > lastEvent).reverse()) {
      lastEvent = Math.max(lastEvent, event.id);
      say(`  ${color("2", elapsed())}  ${eventLine(event)}`);
    }
    const view = await api("GET", `/rollouts/${id}`);
    for (const wave of view.waves) {
      if (wave.status !== "done" || tabled.has(wave.name)) continue;
      tabled.add(wave.name);
      waveTable(wave);
    }
    // Final (the hub's state machine says so), or halted waiting for an operator to resume.
    if (view.final || view.actions.includes("resume")) {
      for (const wave of view.waves) if (!tabled.has(wave.name) && wave.status !== "waiting") waveTable(wave);
      say(`  rollout ${view.state}${view.reason ? `: ${view.reason}` : ""}`);
      return view;
    }
    await sleep(300);
  }
  throw new Error(`the rollout did not finish within ${TIMEOUT_MS / 1000} s`);
}

function eventLine(e) {
  const subject = e.subject.length > 40 ? `${e.subject.slice(0, 8)}…${e.subject.slice(-12)}` : e.subject;
  const data = Object.entries(e.data ?? {})
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return `${e.kind.padEnd(26)} ${subject.padEnd(24)} ${color("2", `${e.actor} ${data}`)}`;
}

function waveTable(wave) {
  say(`\n  wave "${wave.name}" (${wave.agents.length} agent${wave.agents.length === 1 ? "" : "s"})`);
  say(`    ${"AGENT".padEnd(8)} ${"STATE".padEnd(12)} ERROR`);
  for (const a of wave.agents) say(`    ${a.agentId.padEnd(8)} ${a.state.padEnd(12)} ${a.error ?? ""}`);
  say("");
}

async function writeRelease(root, version) {
  await mkdir(join(root, "data"), { recursive: true });
  await writeFile(join(root, "VERSION"), `${version}\n`);
  await writeFile(join(root, "app.sh"), `#!/bin/sh\necho "sample app ${version}"\n`, { mode: 0o755 });
  const workers = version === "1.0.0" ? "" : "# new in 2.0.0\nworkers = 4\n";
  await writeFile(join(root, "config.toml"), `[server]\nport = 8080\nname = "sample"\n${workers}`);
  await writeFile(
    join(root, "data", "orders.txt"),
    "sample data from the release (never installed over yours)\n",
  );
  // What CI writes next to the code: config.toml merged keeping the host's values, data/ never
  // written, and a test after the update (a failing one makes ship restore the previous version).
  const manifest = `version: "${version}"
description: "sample app ${version}"
files:
  "config.toml": { action: merge_toml, merge_strategy: preserve_user }
directories:
  data: { preserve: true }
post_update_tests:
  - { name: "app reports its version", command: "./app.sh | grep -q ${version}", timeout: 10 }
`;
  await writeFile(join(root, "update-manifest.yaml"), manifest);
}

/** The host's ship.toml; its [hub] once the hub's URL is known (the install runs before the hub). */
function shipToml(host, v1, hubUrl) {
  return [
    "[general]",
    `state_file = "${join(host.root, "state", "ship-state.json")}"`,
    `backup_dir = "${join(host.root, "state", "backups")}"`,
    `work_dir = "${join(host.root, "work")}"`,
    "[general.logging]",
    'level = "INFO"',
    "",
    `[sources.${APP}]`,
    'type = "local"',
    `app_dir = "${host.appDir}"`,
    `path = "${v1}"`,
    "",
    ...(hubUrl === undefined ? [] : hubSection(host, hubUrl)),
  ].join("\n");
}

function hubSection(host, hubUrl) {
  return [
    "[hub]",
    `url = "${hubUrl}"`,
    `token_file = "${join(host.root, "hub.token")}"`,
    `agent_id = "${host.id}"`,
    `labels = { region = "${host.region}" }`,
    "reconnect_max_seconds = 2",
    "",
  ];
}

function apiClient(hubUrl, token) {
  return async (method, path, body) => {
    const res = await fetch(`${hubUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

/** Each child in its own process group, so stopping it also stops hooks it started. */
function start(name, command, args, { log, env = {} }) {
  const fd = openSync(log, "a");
  const child = spawn(command, args, {
    detached: true,
    stdio: ["ignore", "pipe", fd],
    env: { ...process.env, ...env },
  });
  child.stdout.on("data", () => {});
  child.once("exit", (code, signal) => {
    if (!stopping) say(color("31", `  ${name} exited (${code ?? signal}); log: ${log}`));
  });
  children.push(child);
  return child;
}

/** Resolves to the match of `pattern` in what `child` printed, once it printed it. */
function waitForOutput(child, pattern) {
  return new Promise((ok, fail) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = pattern.exec(out);
      if (match) ok(match);
    });
    child.once("exit", (code) => fail(new Error(`exited with ${code} before printing ${pattern}`)));
  });
}

async function run(command, args) {
  try {
    return (await execFileAsync(command, args)).stdout;
  } catch (error) {
    throw new Error(`${args.slice(1, 3).join(" ")} failed: ${String(error.stderr ?? error.message).trim()}`);
  }
}

async function waitUntil(what, check) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let stopping = false;
async function stopAll() {
  stopping = true;
  const exits = children
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map((child) => {
      const exited = new Promise((ok) => child.once("exit", ok));
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5000);
      return exited.then(() => clearTimeout(timer));
    });
  await Promise.all(exits);
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

let code = 1;
try {
  code = await main();
} catch (error) {
  say(color("31", `\ndemo failed: ${error instanceof Error ? error.message : String(error)}`));
  if (dir) say(`logs kept in ${dir}`);
  code = 1;
}
await stopAll();
if (code === 0 && dir) await rm(dir, { recursive: true, force: true });
process.exit(code);
