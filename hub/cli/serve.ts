import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { keepGoingWhenStdoutCloses } from "../../shared/cli/closed-stdout.js";
import { pathFromEnvironment } from "../../shared/cli/non-utf8-arguments.js";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { createLogger, settleLogs } from "../../shared/log.js";
import type { NamedBy } from "../../shared/named-file.js";
import { timerMs } from "../../shared/schema/durations.js";
import { hubConfigExposure, loadHubConfig } from "../config/load.js";
import { DEFAULT_DATA_DIR, type HubConfig } from "../config/schema.js";
import { timingWarnings } from "../config/timing-warnings.js";
import { missingDashboardAssets } from "../dashboard/assets.js";
import { quotedText } from "../quoted-text.js";
import type { DatabaseSource } from "../store/open-database.js";
import { checkSqliteLocation } from "../store/open-sqlite.js";
import { DATABASE_URL_ENV, databaseUrlOf, passwordOnCommandLine } from "./database-url.js";
import { flagOverVariable } from "./flag-over-variable.js";

export interface CommonOptions {
  config?: string;
  dataDir?: string;
  db?: string;
  databaseUrl?: string;
}

export interface ResolvedPaths {
  config: HubConfig;
  dataDir: string;
  dbFile: string;
  /** Where dataDir and dbFile were named (flag, hub.toml key, default), for messages. */
  namedBy: { dataDir: NamedBy; dbFile: NamedBy };
  secretFile?: string;
  /** The hub.toml read, if any (messages about its keys name it). */
  configFile?: string;
  envSecret?: string;
  /** PostgreSQL shared by several hubs, instead of the SQLite file. */
  database?: DatabaseSource;
}

/** The variable that names hub.toml when no --config is given. */
const CONFIG_ENV = "SHIP_HUB_CONFIG";
/** Read when neither --config nor $SHIP_HUB_CONFIG names a hub.toml, if it exists. */
const DEFAULT_CONFIG_FILE = "/etc/ship/hub.toml";

/** The hub.toml to read, the variable that named it (if one did), and a warning when --config beat it. */
interface ConfigChoice {
  file?: string;
  namedBy?: string;
  warning?: string;
}

/**
 * --config, else $SHIP_HUB_CONFIG, else /etc/ship/hub.toml when it exists, else none (built-in
 * defaults). A file the operator named by flag or variable must be there: a $SHIP_HUB_CONFIG naming
 * a missing file started the hub on defaults and made ./ship-hub-data. An empty variable reads as
 * unset, as shells and systemd's Environment= use it.
 */
function configFileOf(options: CommonOptions): ConfigChoice {
  const env = pathFromEnvironment(CONFIG_ENV);
  if (options.config !== undefined) {
    const warning = flagOverVariable({
      flag: "--config",
      given: options.config,
      variable: CONFIG_ENV,
      show: true,
      same: (a, b) => resolve(a) === resolve(b),
    });
    return { file: options.config, ...(warning !== undefined ? { warning } : {}) };
  }
  if (env !== undefined) return { file: env, namedBy: CONFIG_ENV };
  return existsSync(DEFAULT_CONFIG_FILE) ? { file: DEFAULT_CONFIG_FILE } : {};
}

/** Flags win over hub.toml, which wins over defaults; `serve` and `token` resolve identically. */
export async function resolvePaths(options: CommonOptions): Promise<ResolvedPaths> {
  const { file: configFile, namedBy: configBy, warning: configWarning } = configFileOf(options);
  const config = await loadHubConfig(configFile, configBy);
  const dataDir = options.dataDir ?? config.data_dir;
  const env = process.env.SHIP_HUB_SECRET;
  const database = databaseUrlOf(options.databaseUrl, config, configFile);
  const toml = configFile ?? "hub.toml";
  const dataDirBy = options.dataDir !== undefined ? flag("--data-dir") : { file: toml, key: "data_dir" };
  const dbBy =
    options.db !== undefined ? flag("--db") : config.db !== undefined ? { file: toml, key: "db" } : dataDirBy;
  const dbFile = options.db ?? config.db ?? join(dataDir, "hub.db");
  const namedBy = { dataDir: dataDirBy, dbFile: dbBy };
  if (database) refuseSqliteOptions(options, config, database, toml);
  else await checkSqliteLocation({ dataDir, dbFile, namedBy });
  // Once the paths hold: a refused start prints its one line and nothing before it.
  const overridden = [
    configWarning,
    flagOverVariable({ flag: "--database-url", given: options.databaseUrl, variable: DATABASE_URL_ENV }),
  ];
  for (const warning of overridden)
    if (warning !== undefined) process.stderr.write(`ship-hub: warning: ${warning}\n`);
  const exposure = await hubConfigExposure(configFile, config);
  if (exposure !== undefined) process.stderr.write(`ship-hub: warning: ${exposure}\n`);
  const onCommandLine = passwordOnCommandLine(options.databaseUrl);
  if (onCommandLine !== undefined) process.stderr.write(`ship-hub: warning: ${onCommandLine}\n`);
  return {
    ...(database ? { database } : {}),
    config,
    dataDir,
    dbFile,
    namedBy,
    ...(configFile ? { configFile } : {}),
    ...(config.jwt_secret_file ? { secretFile: config.jwt_secret_file } : {}),
    ...(env ? { envSecret: env } : {}),
  };
}

const flag = (name: string): NamedBy => ({ file: name, key: "" });

/**
 * With a database URL the hub keeps nothing in a SQLite file or data dir, so --db, --data-dir and
 * hub.toml's `db` would be silently ignored: refused instead, as `ship` refuses options that do not
 * go together. (hub.toml's `data_dir` stays allowed: one hub.toml may serve both modes.)
 */
function refuseSqliteOptions(
  options: CommonOptions,
  config: HubConfig,
  database: DatabaseSource,
  toml: string,
): void {
  const url = database.key ? `${database.key} in ${database.file}` : database.file;
  const conflict: NamedBy | undefined =
    options.db !== undefined
      ? flag("--db")
      : options.dataDir !== undefined
        ? flag("--data-dir")
        : config.db !== undefined
          ? { file: toml, key: "db" }
          : undefined;
  if (conflict === undefined) return;
  throw BadInputError.single(
    conflict.file,
    conflict.key,
    `cannot be used with ${url}: on PostgreSQL the hub keeps no SQLite file or data dir; give one or the other`,
  );
}

/**
 * For the token commands, which sign with the data dir's secret: a token from a data dir the
 * serving hub does not use is refused by it ("invalid signature"). So unless a flag, a database URL
 * or hub.toml names where the hub keeps its data, only an existing data dir with a hub database is
 * used. A hub.toml that names no `data_dir` or `db` (0 bytes, only comments, only `port`) left the
 * default ./ship-hub-data of the shell's directory: `token create` made a stray data dir with a new
 * secret there, and the hub under systemd (started in /) refused the token it printed.
 */
export async function resolveExistingPaths(options: CommonOptions): Promise<ResolvedPaths> {
  const paths = await resolvePaths(options);
  const named =
    options.dataDir !== undefined ||
    options.db !== undefined ||
    paths.database !== undefined ||
    paths.config.db !== undefined ||
    paths.dataDir !== DEFAULT_DATA_DIR;
  if (named || existsSync(paths.dbFile)) return paths;
  const where = `no hub database in ${paths.dataDir} of the directory ship-hub runs in`;
  if (paths.configFile !== undefined)
    throw BadInputError.single(
      paths.configFile,
      "data_dir",
      `is not set, and ${where}: set it to the serving hub's data directory (or pass --data-dir); a token signed elsewhere would be refused`,
    );
  throw BadInputError.single(
    DEFAULT_CONFIG_FILE,
    "",
    `no hub.toml here and ${where}: pass --config with the serving hub's hub.toml (or --data-dir with its data directory); a token signed elsewhere would be refused`,
  );
}

/**
 * Before anything is created, a throwaway listen on the host and port: a host that does not resolve
 * or is not this machine's is a typo to name, not a bare "getaddrinfo ENOTFOUND" after the data dir
 * was made; a port another process holds left a new ./ship-hub-data behind its "address already in use".
 */
async function checkListen(host: string, port: number, by: { host: NamedBy; port: NamedBy }): Promise<void> {
  const listen = (at: number) => {
    const probe = createServer();
    return new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(at, host, () => probe.close(() => resolve()));
    });
  };
  await listen(0).catch((error: unknown) => {
    const reason =
      errnoCode(error) === "EADDRNOTAVAIL" ? "is not an address of this machine" : fsErrorText(error);
    throw BadInputError.single(by.host.file, by.host.key, `cannot listen on ${quotedText(host)}: ${reason}`);
  });
  if (port === 0) return;
  await listen(port).catch((error: unknown) => {
    const wrapped = listenError(error, host, port, by);
    if (wrapped === error) throw error;
    throw BadInputError.single(by.port.file, by.port.key, portProblem(error, host, port));
  });
}

/** Why the port cannot be listened on, in words an operator acts on. */
function portProblem(error: unknown, host: string, port: number): string {
  const at = `cannot listen on ${host}:${port}`;
  if (errnoCode(error) === "EADDRINUSE")
    return `${at}: another process holds it (ss -ltnp 'sport = :${port}' shows which); stop it or choose another port`;
  return `${at}: ${fsErrorText(error)} (a port under 1024 needs root or CAP_NET_BIND_SERVICE)`;
}

/** A listen failure in words naming the host and port and where they were set; others pass through. */
function listenError(error: unknown, host: string, port: number, by: { port: NamedBy }): unknown {
  const code = errnoCode(error);
  const at = `${host}:${port}`;
  // Only the listen itself: an EACCES from creating the data dir is not the port's fault.
  const listening = (error as NodeJS.ErrnoException).syscall === "listen";
  if (listening && (code === "EADDRINUSE" || code === "EACCES"))
    return new Error(`cannot listen on ${at} (${by.port.key || by.port.file}): ${fsErrorText(error)}`, {
      cause: error,
    });
  return error;
}

/** --port as a number, checked before anything is created (Node's own error names no flag). */
function portOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535)
    throw BadInputError.single(
      "--port",
      "",
      `must be a whole number from 0 to 65535, got ${quotedText(text)}`,
    );
  return port;
}

export async function serve(options: CommonOptions & { port?: string; host?: string }): Promise<void> {
  const port = portOption(options.port);
  const paths = await resolvePaths(options);
  const { config } = paths;
  const toml = paths.configFile ?? "hub.toml";
  const host = options.host ?? config.host;
  const hostBy: NamedBy = options.host !== undefined ? flag("--host") : { file: toml, key: "host" };
  const portBy: NamedBy = port !== undefined ? flag("--port") : { file: toml, key: "port" };
  await checkListen(host, port ?? config.port, { host: hostBy, port: portBy });
  const log = createLogger({ name: "ship-hub", level: config.log_level });
  for (const warning of timingWarnings(config, toml)) log.warn(warning);
  // Loaded only to serve: the server (Express, ws, the engine) is most of a CLI start's CPU, and a
  // refused flag or hub.toml, like `token` (which imports this file), needs none of it.
  const { startHub } = await import("../server.js");
  const hub = await startHub({
    ...paths,
    host,
    port: port ?? config.port,
    pingIntervalMs: timerMs(config.ping_interval_seconds),
    offlineTimeoutMs: timerMs(config.offline_timeout_seconds),
    progressTimeoutMs: timerMs(config.progress_timeout_seconds),
    tickIntervalMs: timerMs(config.tick_interval_seconds),
    resyncMs: timerMs(config.cluster_resync_seconds),
    heartbeatMs: timerMs(config.cluster_heartbeat_seconds),
    hubTimeoutMs: timerMs(config.cluster_hub_timeout_seconds),
    maxArtifactBytes: config.max_artifact_mb * 1024 * 1024,
    maxPayloadBytes: config.max_message_kb * 1024,
    maxReportsPerMinute: config.max_reports_per_minute,
    reportRetention: {
      keepPerAgent: config.report_keep_per_agent,
      keepMs: config.report_keep_days * 86_400_000,
    },
    unusedArtifacts: {
      keepMs: config.unused_artifact_keep_hours * 3_600_000,
      everyMs: timerMs(config.unused_artifact_sweep_minutes * 60),
    },
    log,
  }).catch((error: unknown) => {
    throw listenError(error, host, port ?? config.port, { port: portBy });
  });
  const missing = missingDashboardAssets();
  if (missing.length > 0) {
    // Loud on purpose: an install that left the dashboard out otherwise answers / with a bare 503.
    log.error("the dashboard is not installed; the hub serves the API only", { missing });
    process.stderr.write(
      `ship-hub: WARNING: dashboard assets missing (${missing.join(", ")}); reinstall ship\n`,
    );
  }
  const stop = (signal: string) => {
    log.info("shutting down", { signal });
    hub.close().then(
      () => settleLogs().then(() => process.exit(0)),
      (error: unknown) => {
        log.error("shutdown failed", { error: String(error) });
        void settleLogs().then(() => process.exit(1));
      },
    );
  };
  void hub.mustStop.then((error) => {
    log.error("stopping", { reason: error.message });
    const exit = () => {
      process.stderr.write(`ship-hub: ${error.message}\n`);
      void settleLogs().then(() => process.exit(error.exitCode));
    };
    hub.close().then(exit, exit);
  });
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  // Started by hand in an ssh session, the hub died with the session (Node's default for SIGHUP),
  // agents and rollouts cut off mid-wave. It goes on, as under nohup; its output to the gone
  // terminal is dropped (closed-stdout.ts).
  keepGoingWhenStdoutCloses();
  let hungUp = false;
  process.on("SIGHUP", () => {
    if (hungUp) return;
    hungUp = true;
    log.warn("SIGHUP: the terminal hung up; ship-hub goes on serving (stop it with SIGTERM)", {
      signal: "SIGHUP",
    });
  });
  // Printed on stdout so scripts (and tests) can find the port when --port 0 picked one; last, once
  // the handlers above are installed: a SIGTERM sent on reading it killed the hub by Node's default
  // (exit 143, no shutdown: agents still connected were not marked offline).
  process.stdout.write(`ship-hub listening on ${hub.url}\n`);
}
