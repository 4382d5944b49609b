import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postgresMigrations } from "../../../hub/store/postgres-migrations.js";
import { canRunCluster } from "../../support/cluster.js";
import { runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";
import { type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { waitFor } from "../../support/wait-for.js";

// What an operator sees when the database URL leads nowhere: one line naming the server (never
// the password) and the reason in words; exit 1 when the server could not be reached (it may be
// back next start), exit 2 when the URL itself is wrong.
const run = canRunCluster();
const SECRET = "s".repeat(40);

let pg: PostgresServer;
let dir: string;
beforeAll(async () => {
  if (run) pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-dburl-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The tables in a database's public schema, by name. */
async function tablesOf(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
    return rows.map((r) => String(r.tablename));
  } finally {
    await sql.end();
  }
}

const hub = (url: string, args = ["token", "list"]) =>
  runHubCli(dir, args, { SHIP_HUB_SECRET: SECRET, SHIP_HUB_DATABASE_URL: url });

describe.skipIf(!run)("ship-hub and a database it cannot use", () => {
  it("nothing listening: 'connection refused' in words, exit 1, no password", async () => {
    const port = await freePort();
    const { code, stderr } = await hub(`postgres://ship:hunter2@127.0.0.1:${port}/ship`, [
      "serve",
      "--port",
      "0",
    ]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      `ship-hub: cannot use PostgreSQL at postgres://ship@127.0.0.1:${port}/ship from SHIP_HUB_DATABASE_URL: connection refused (ECONNREFUSED)`,
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  it.each(["p", "server", "port"])(
    "a password (%s) that is also a word of the line masks only the password, not that word: the line stays whole",
    async (password) => {
      // Masked wherever its letters stood, "p" made the line end "directory and ***ort?", showing it.
      const missing = join(dir, "no-server");
      const port = await freePort();
      const { code, stderr } = await hub(
        `postgres://ship:${password}@${encodeURIComponent(missing)}:${port}/postgres`,
      );
      expect({ code, stderr: stderr.trim() }).toEqual({
        code: 1,
        stderr: `ship-hub: cannot use PostgreSQL at postgres://ship@${missing}:${port}/postgres from SHIP_HUB_DATABASE_URL: no server listening on the socket ${missing}/.s.PGSQL.${port} (ENOENT): is PostgreSQL running, with this socket directory and port?`,
      });
    },
  );

  it("a server that accepts and never answers: 'no answer within N s' after the URL's connect_timeout or PGCONNECT_TIMEOUT, exit 1", async () => {
    // The hub gave every connection 10 s whatever libpq's connect_timeout said (and 0 still gave up).
    const silent: Server = createServer(() => {});
    await new Promise<void>((ok) => silent.listen(0, "127.0.0.1", ok));
    const { port } = silent.address() as { port: number };
    try {
      const cases: Array<[string, Record<string, string>]> = [
        [`postgres://ship@127.0.0.1:${port}/ship?connect_timeout=1`, {}],
        [`postgres://ship@127.0.0.1:${port}/ship`, { PGCONNECT_TIMEOUT: "2" }],
      ];
      const runs = cases.map(([url, env]) =>
        runHubCli(dir, ["token", "list"], { SHIP_HUB_SECRET: SECRET, SHIP_HUB_DATABASE_URL: url, ...env }),
      );
      for (const { code, stderr } of await Promise.all(runs)) {
        expect(code).toBe(1);
        // 1 s is read as 2, libpq's least.
        expect(stderr.trim()).toBe(
          `ship-hub: cannot use PostgreSQL at postgres://ship@127.0.0.1:${port}/ship from SHIP_HUB_DATABASE_URL: no answer within 2 s (CONNECT_TIMEOUT)`,
        );
      }
    } finally {
      silent.close();
    }
  });

  it("a connect_timeout that is not a whole number of seconds: exit 2 naming it, before any connection", async () => {
    const port = await freePort();
    const url = `postgres://ship:hunter2@127.0.0.1:${port}/ship`;
    const [inUrl, inEnv] = await Promise.all([
      hub(`${url}?connect_timeout=5s`),
      runHubCli(dir, ["serve", "--port", "0"], {
        SHIP_HUB_SECRET: SECRET,
        SHIP_HUB_DATABASE_URL: url,
        PGCONNECT_TIMEOUT: "1.5",
      }),
    ]);
    expect(inUrl.code).toBe(2);
    expect(inUrl.stderr.trim()).toBe(
      "ship-hub: SHIP_HUB_DATABASE_URL connect_timeout=5s is not a whole number of seconds (0 waits without a limit)",
    );
    expect(inEnv.code).toBe(2);
    expect(inEnv.stderr.trim()).toBe(
      "ship-hub: PGCONNECT_TIMEOUT is 1.5, not a whole number of seconds (0 waits without a limit)",
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("the longest connect_timeout is taken as a wait, not as a deadline that passed at once", async () => {
    // The hub's own deadlines add to it (5 s more, one wait per host): past 2^31 ms a timer fires at
    // once, and connect_timeout=2147483 against a server that answers was "no answer", exit 1.
    const url = await pg.createDatabase();
    const { code, stderr } = await hub(`${url}?connect_timeout=2147483`);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("another application's database: exit 2 naming its tables, nothing created there", async () => {
    const urls: string[] = [];
    // Tables of its own; one named as a hub's; another tool's schema_version (Flyway's old one).
    for (const tables of [
      "CREATE TABLE users (id int)",
      "CREATE TABLE users (id int); CREATE TABLE tokens (id int)",
      "CREATE TABLE schema_version (installed_rank int, version varchar(50)); INSERT INTO schema_version VALUES (1, '3'); CREATE TABLE accounts (id int)",
    ]) {
      const url = await pg.createDatabase();
      const other = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await other.unsafe(tables);
      } finally {
        await other.end();
      }
      urls.push(url);
    }
    const before = await Promise.all(urls.map((url) => tablesOf(url)));
    // serve on one, token create (which writes) on the others, all at once: cheaper than each twice.
    const runs = urls.map((url, i) =>
      hub(url, i === 0 ? ["serve", "--port", "0"] : ["token", "create", "--role", "operator", "--name", "x"]),
    );
    for (const [i, { code, stderr }] of (await Promise.all(runs)).entries()) {
      expect(code, urls[i]).toBe(2);
      expect(stderr.trim()).toBe(
        `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${urls[i]} holds tables that are not ship-hub's (${before[i]?.join(", ")}), so the hub created nothing there: give the hub a database of its own (createdb -O USER ship_hub) and name it in the URL`,
      );
    }
    expect(await Promise.all(urls.map((url) => tablesOf(url)))).toEqual(before);
  });

  it("a search_path naming no schema that exists: exit 2 saying so, not 'no schema has been selected' (exit 1)", async () => {
    const url = `${await pg.createDatabase()}?search_path=hub_schema`;
    const { code, stderr } = await hub(url);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${url.split("?")[0]} has none of the schemas of its search_path (hub_schema), so the hub has nowhere to create its tables: CREATE SCHEMA … AUTHORIZATION USER, or set a search_path naming one that exists`,
    );
  });

  it.each([
    [
      "?connect_timeuot=5",
      /refused: unrecognized configuration parameter "connect_timeuot" \(a \?key=value in the URL\)$/,
    ],
    [
      "?statement_timeout=soon",
      /refused: invalid value for parameter "statement_timeout": "soon" \(a \?key=value in the URL\)$/,
    ],
  ])("a URL setting %s the server refuses is bad input: exit 2, naming it", async (query, message) => {
    const url = (await pg.createDatabase()) + query;
    for (const args of [
      ["token", "list"],
      ["serve", "--port", "0"],
    ]) {
      const { code, stderr } = await hub(url, args);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr.trim()).toMatch(
        /^ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at postgres:\/\/ship@127\.0\.0\.1:\d+\/t\d+_\d+ refused/,
      );
      expect(stderr.trim()).toMatch(message);
    }
  });

  it("a database a newer ship-hub migrated: exit 2 (not a failure systemd retries), naming both schemas", async () => {
    const url = await pg.createDatabase();
    expect((await hub(url)).code).toBe(0);
    const newer = postgresMigrations.length + 1;
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await admin`INSERT INTO schema_version (version) VALUES (${newer})`;
    } finally {
      await admin.end();
    }
    for (const args of [
      ["token", "list"],
      ["serve", "--port", "0"],
    ]) {
      const { code, stderr } = await hub(url, args);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toEqual([
        `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${url} holds hub schema ${newer}, newer than this ship-hub's (${postgresMigrations.length}): a newer ship-hub migrated it; upgrade ship-hub here`,
      ]);
    }
  });

  it("a running hub whose database a newer ship-hub migrates stops: exit 2, naming both schemas", async () => {
    const url = await pg.createDatabase();
    const config = join(dir, "hub.toml");
    await writeFile(config, 'host = "127.0.0.1"\ncluster_heartbeat_seconds = 1\n');
    const serving = hub(url, ["serve", "--config", config, "--port", "0"]);
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await waitFor(
        "the hub's first heartbeat",
        async () => {
          const [row] = await admin`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'hubs'`;
          return row?.n === 1 && (await admin`SELECT 1 FROM hubs`).length > 0;
        },
        { timeoutMs: 20_000, intervalMs: 100, where: dir },
      );
      const newer = postgresMigrations.length + 1;
      await admin`INSERT INTO schema_version (version) VALUES (${newer})`;
      const { code, stdout, stderr } = await serving;
      expect(stdout).toContain("listening on");
      expect(code).toBe(2);
      // stderr also carries the hub's JSON log, whose lines may flush after this one.
      expect(stderr.split("\n").filter((line) => line.startsWith("ship-hub:"))).toEqual([
        `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${url} holds hub schema ${newer}, newer than this ship-hub's (${postgresMigrations.length}): a newer ship-hub migrated it while this one ran, so this one stops; upgrade ship-hub here`,
      ]);
    } finally {
      await admin.end();
    }
  }, 60_000);

  it("a database its user may not create tables in (PostgreSQL 15's public schema): exit 2, saying what to change", async (ctx) => {
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    const name = `notmine_${process.pid}`;
    try {
      // Before 15 every user may create tables in `public`: nothing is refused there.
      const [{ v } = { v: 0 }] = await admin`SELECT current_setting('server_version_num')::int AS v`;
      if (Number(v) < 150_000) ctx.skip();
      await admin.unsafe("CREATE ROLE hubuser LOGIN");
      await admin.unsafe(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = `postgres://hubuser@127.0.0.1:${pg.port}/${name}`;
    for (const args of [
      ["token", "list"],
      ["serve", "--port", "0"],
    ]) {
      const { code, stderr } = await hub(url, args);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toEqual([
        `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${url} refused: permission denied for schema public: the hub's user may not create its tables there; make it the database's owner (createdb -O USER, or ALTER DATABASE … OWNER TO USER)`,
      ]);
    }
  });
});
