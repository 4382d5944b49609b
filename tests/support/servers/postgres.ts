/**
 * A real PostgreSQL server for tests (Debian's `postgresql` package): initdb + pg_ctl in a temp
 * dir, listening on 127.0.0.1 at a free port, trust auth for the superuser `ship`, removed on
 * stop(). initdb refuses to run as root, so as root every server binary runs as the `postgres`
 * user (runuser) and the temp dir belongs to it. Durability is off (fsync, full pages) unless
 * asked for: a test server is thrown away, and the contract tests check behaviour, not crash safety.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { requireFound } from "../require-program.js";
import { runTemplatePrefix } from "../run-template.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

export interface PostgresServer {
  port: number;
  /** postgres://ship@127.0.0.1:<port>/postgres — the maintenance database. */
  url: string;
  /** The directory of the server's unix socket (`.s.PGSQL.<port>`). */
  socketDir: string;
  /** A new empty database; its URL. Each test can own one without restarting the server. */
  createDatabase(): Promise<string>;
  /** The server's log, for failing tests. */
  log(): Promise<string>;
  /**
   * `pg_ctl restart -m fast`, as an operator restarts it: every connection is ended (FATAL
   * 57P01), connections are refused until it listens again; same port, same data.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where initdb and pg_ctl live: SHIP_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.SHIP_TEST_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, "initdb")) ? fromEnv : undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

/** Skips loudly without PostgreSQL; fails under CI=true. */
export function hasPostgres(): boolean {
  return requireFound(
    postgresBinDir() !== undefined,
    "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)",
  );
}

async function idsOf(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run("id", ["-u", user])).stdout.trim());
  const gid = Number((await run("id", ["-g", user])).stdout.trim());
  return { uid, gid };
}

/**
 * A fresh directory for one server, owned by the postgres user when the tests run as root (initdb
 * and the server refuse root), with runners for a program as that user and for a PostgreSQL binary.
 */
async function serverDir(prefix: string): Promise<{
  dir: string;
  asRoot: boolean;
  asServerUser: Runner;
  pg: Runner;
}> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("PostgreSQL binaries not found (apt-get install postgresql)");
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { uid, gid } = await idsOf("postgres");
    await chown(dir, uid, gid);
  }
  // As root, each binary runs as postgres; otherwise as whoever runs the tests.
  const asServerUser: Runner = (program, args) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", program, ...args], { cwd: dir })
      : run(program, args, { cwd: dir });
  return { dir, asRoot, asServerUser, pg: (program, args) => asServerUser(join(bin, program), args) };
}

/**
 * A hot standby of `primary` (pg_basebackup -R, streaming), read-only like any replica; its
 * databases are the primary's. For a test server started by startPostgres (trust auth).
 */
export async function startStandby(primary: PostgresServer): Promise<PostgresServer> {
  const { dir, pg } = await serverDir("ship-pg-standby-");
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  try {
    await pg("pg_basebackup", [
      "-h",
      "127.0.0.1",
      "-p",
      String(primary.port),
      "-U",
      "ship",
      "-D",
      data,
      "-R",
      // The backup starts at a checkpoint; the default spreads it over checkpoint_timeout's
      // pacing, which held this ~90 s of a 2-core CI machine for a cluster of a few MB.
      "--checkpoint=fast",
    ]);
    const port = await startOnFreePort(pg, data, dir, logFile, false);
    return {
      port,
      url: `postgres://ship@127.0.0.1:${port}/postgres`,
      socketDir: dir,
      createDatabase: () =>
        Promise.reject(new Error("a standby is read-only: create databases on the primary")),
      log: () => readFile(logFile, "utf8").catch(() => ""),
      restart: () => restartServer(pg, data, logFile),
      async stop() {
        await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const log = await readFile(logFile, "utf8").catch(() => "");
    await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate"]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL standby did not start: ${String(error)}\n${log}`);
  }
}

export interface PostgresOptions {
  /** Keep fsync and full-page writes on, as in production (benchmarks); tests leave them off. */
  durable?: boolean;
  /** More server settings (`name=value`), e.g. track_commit_timestamp=on for a stage probe. */
  settings?: readonly string[];
}

/**
 * One initdb per test process, copied for each server: initdb is seconds of a loaded 2-core CI
 * machine (it starts a bootstrap backend and loads the catalogs), a copy of its 40 MB a fraction of
 * one, and ~35 servers start in a run. The copy is the same cluster initdb would make (same
 * binaries, options and superuser); each server still gets its own directory, port and socket.
 */
let template: Promise<string> | undefined;

function initdbOnce(pg: Runner, asRoot: boolean): Promise<string> {
  template ??= (async () => {
    // Removed by tests/support/global-setup.ts when the run ends (the fork's parent is the runner).
    const dir = await mkdtemp(join(tmpdir(), runTemplatePrefix("pg", process.ppid)));
    if (asRoot) {
      const { uid, gid } = await idsOf("postgres");
      await chown(dir, uid, gid);
    }
    const data = join(dir, "data");
    await pg("initdb", ["-D", data, "-U", "ship", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
    return data;
  })();
  // A failed initdb is tried again by the next server, not remembered for the whole run.
  template.catch(() => {
    template = undefined;
  });
  return template;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const { dir, pg, asServerUser, asRoot } = await serverDir("ship-pg-");
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  try {
    // cp -a as the server's user keeps the owner and the 0700 mode the server insists on. Outside
    // vitest (a benchmark) nothing would remove the template: initdb there.
    if (process.env.VITEST === undefined)
      await pg("initdb", [
        "-D",
        data,
        "-U",
        "ship",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
      ]);
    else await asServerUser("cp", ["-a", await initdbOnce(pg, asRoot), data]);
    const port = await startOnFreePort(pg, data, dir, logFile, options.durable ?? false, options.settings);
    const url = `postgres://ship@127.0.0.1:${port}/postgres`;
    let databases = 0;
    return {
      port,
      url,
      socketDir: dir,
      async createDatabase() {
        const name = `t${++databases}_${process.pid}`;
        const admin = postgres(url, { max: 1, onnotice: () => {} });
        try {
          await admin.unsafe(`CREATE DATABASE ${name}`);
        } finally {
          await admin.end();
        }
        return `postgres://ship@127.0.0.1:${port}/${name}`;
      },
      log: () => readFile(logFile, "utf8").catch(() => ""),
      restart: () => restartServer(pg, data, logFile),
      async stop() {
        await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const log = await readFile(logFile, "utf8").catch(() => "");
    await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate"]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`);
  }
}

type Runner = (program: string, args: string[]) => Promise<unknown>;

/** pg_ctl keeps the options the server was started with (postmaster.opts): same port and socket. */
async function restartServer(pg: Runner, data: string, logFile: string): Promise<void> {
  try {
    await pg("pg_ctl", ["restart", "-D", data, "-m", "fast", "-w", "-t", "120", "-l", logFile]);
  } catch (error) {
    const log = await readFile(logFile, "utf8").catch(() => "");
    throw new Error(`PostgreSQL did not restart: ${String(error)}\n${log}`);
  }
}

/** A free port can be taken between probing and binding; try a few. */
async function startOnFreePort(
  pg: Runner,
  data: string,
  dir: string,
  logFile: string,
  durable: boolean,
  settings: readonly string[] = [],
): Promise<number> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const options = [
      "-c listen_addresses=127.0.0.1",
      `-p ${port}`,
      // The socket goes into the temp dir: /var/run/postgresql may not exist or be writable.
      `-k ${dir}`,
      ...(durable ? [] : ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]),
      "-c shared_buffers=32MB",
      "-c max_connections=60",
      // Deadlock tests wait this long for detection (default 1 s).
      "-c deadlock_timeout=100ms",
      ...settings.map((setting) => `-c ${setting}`),
    ].join(" ");
    try {
      await pg("pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", logFile, "-o", options]);
      return port;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
