/**
 * A hub on the database's own host, reaching PostgreSQL through its unix socket as libpq's URLs
 * write it: the directory percent-encoded as the host, or `?host=DIR` (with `?port=`/`?user=`).
 * The driver looked the encoded directory up as a host name ("no such host (ENOTFOUND)"), and
 * sent `host`, `port` and `user` from the query to the server as settings: "refused:
 * unrecognized configuration parameter "host"", or, with no host before the path, a connection
 * to localhost:5432 instead of the socket. With no host at all (`postgresql:///ship`, PGHOST unset)
 * libpq uses its socket directory; the driver went to localhost over TCP, where pg_hba.conf
 * usually wants a password the socket's peer authentication does not. Real CLI runs against a
 * real PostgreSQL's socket.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUB_BIN, requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

describe.skipIf(!hasPostgres())("a database URL naming a unix socket", () => {
  let pg: PostgresServer;
  let dir: string;
  beforeAll(async () => {
    requireHubBin();
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-dburl-socket-"));
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reaches the server through the socket in each of libpq's forms", async () => {
    const database = new URL(await pg.createDatabase()).pathname.slice(1);
    const socket = pg.socketDir;
    const encoded = encodeURIComponent(socket);
    const forms = [
      `postgres://ship@${encoded}:${pg.port}/${database}`,
      `postgresql://ship@${encoded}/${database}?port=${pg.port}`,
      `postgres:///${database}?host=${socket}&port=${pg.port}&user=ship`,
      `postgres://ship@localhost:${pg.port}/${database}?host=${socket}`,
      // A user (and port) with no host: libpq reads them; Node's URL parser refused them.
      `postgres://ship@/${database}?host=${socket}&port=${pg.port}`,
      `postgresql://ship@:${pg.port}/${database}?host=${socket}`,
      // Copied from a TCP URL: libpq ignores sslmode on a socket; the driver was reset (exit 1).
      `postgres://ship@${encoded}:${pg.port}/${database}?sslmode=require`,
    ];
    const created = await runHubCli(dir, ["token", "create", "--role", "operator", "--name", "socket-op"], {
      SHIP_HUB_DATABASE_URL: forms[0] as string,
      SHIP_HUB_SECRET: "s".repeat(40),
    });
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });
    for (const url of forms) {
      const listed = await runHubCli(dir, ["token", "list"], { SHIP_HUB_DATABASE_URL: url });
      expect({ code: listed.code, stderr: listed.stderr }, url).toEqual({ code: 0, stderr: "" });
      expect(listed.stdout, url).toContain("socket-op");
    }
  });

  it("serve runs on the socket, its wake-up listener included", async () => {
    const url = `postgres://ship@${encodeURIComponent(pg.socketDir)}:${pg.port}/${new URL(await pg.createDatabase()).pathname.slice(1)}`;
    const child = spawn(process.execPath, [HUB_BIN, "serve", "--port", "0"], {
      cwd: dir,
      env: {
        ...process.env,
        SHIP_HUB_DATABASE_URL: url,
        SHIP_HUB_SECRET: "s".repeat(40),
        SHIP_HUB_CONFIG: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const deadline = Date.now() + 20_000;
    while (!output.includes("ship-hub listening") && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    expect({ code: await exited, listening: output.includes("ship-hub listening") }, output).toEqual({
      code: 0,
      listening: true,
    });
  });

  it.each([
    [
      "postgres://ship:pw@%2Fvar%2Frun%2Fpostgresql,db2:5432/ship",
      "names several hosts, one of them a unix socket (%2Fvar%2Frun%2Fpostgresql), which ship-hub's PostgreSQL driver cannot use in a list: name each host by its DNS name or IPv4 address",
    ],
  ])("%s, which the URL parser refuses, says what to write: exit 2", async (url, problem) => {
    const { code, stderr } = await runHubCli(dir, ["token", "list"], { SHIP_HUB_DATABASE_URL: url });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL ${problem}`,
    });
  });

  it("no host and no PGHOST: libpq's socket, as psql, not localhost over TCP", async () => {
    // A port no server uses: the socket it would be at is named, as psql names it.
    const port = await freePort();
    const { code, stderr } = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: "postgres:///ship",
      PGHOST: "",
      PGPORT: String(port),
    });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: `ship-hub: cannot use PostgreSQL at postgres:///var/run/postgresql/ship from SHIP_HUB_DATABASE_URL: no server listening on the socket /var/run/postgresql/.s.PGSQL.${port} (ENOENT): is PostgreSQL running, with this socket directory and port?`,
    });
  });

  it("a socket directory with no server in it: exit 1 naming the socket's path", async () => {
    const missing = join(dir, "no-server-here");
    const { code, stderr } = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: `postgres://ship@${encodeURIComponent(missing)}:${pg.port}/ship`,
    });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: `ship-hub: cannot use PostgreSQL at postgres://ship@${missing}:${pg.port}/ship from SHIP_HUB_DATABASE_URL: no server listening on the socket ${missing}/.s.PGSQL.${pg.port} (ENOENT): is PostgreSQL running, with this socket directory and port?`,
    });
  });
});
