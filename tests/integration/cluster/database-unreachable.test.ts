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

  it("a server that accepts and never answers: 'no answer within 10 s', exit 1", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((ok) => silent.listen(0, "127.0.0.1", ok));
    const { port } = silent.address() as { port: number };
    try {
      const { code, stderr } = await hub(`postgres://ship@127.0.0.1:${port}/ship`);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `ship-hub: cannot use PostgreSQL at postgres://ship@127.0.0.1:${port}/ship from SHIP_HUB_DATABASE_URL: no answer within 10 s (CONNECT_TIMEOUT)`,
      );
    } finally {
      silent.close();
    }
  }, 30_000);

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
