/**
 * TLS settings in the hub's database URL that the driver (postgres.js) does not honour as libpq
 * documents them. An unknown sslmode (a typo) silently meant verify-full; sslrootcert and the
 * client-certificate settings were passed to the server as connection settings, which refused
 * them: "refused: unrecognized configuration parameter "sslrootcert" (a ?key=value in the URL)",
 * as if the server lacked something. Each is now named before any connection, exit 2, whichever
 * of --database-url, SHIP_HUB_DATABASE_URL and hub.toml database_url carried it. Real CLI runs;
 * nothing listens at the URL, so a URL that passed would fail differently (exit 1, refused).
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

let dir: string;
beforeEach(async () => {
  requireHubBin();
  dir = await mkdtemp(join(tmpdir(), "ship-dburl-tls-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("TLS settings in the hub's database URL", () => {
  it.each([
    [
      "sslmode=requird",
      "sslmode=requird is not one of disable, allow, prefer, require, verify-ca, verify-full",
    ],
    [
      "sslmode=verify-full&sslrootcert=/etc/ship/db-ca.pem",
      "sslrootcert=/etc/ship/db-ca.pem is not read by ship-hub's PostgreSQL driver: sslmode=verify-full checks the server against the system's CAs; name another CA file in NODE_EXTRA_CA_CERTS in the hub's environment",
    ],
    [
      "sslmode=require&sslcert=/etc/ship/client.pem&sslkey=/etc/ship/client.key",
      "sslcert (a client certificate) is not supported by ship-hub's PostgreSQL driver: log in with a password, and TLS (sslmode=verify-full) for the connection",
    ],
  ])(
    "?%s is named before connecting: exit 2, one line, for the flag, the variable and hub.toml",
    async (query, problem) => {
      const url = `postgres://ship:hunter2@127.0.0.1:${await freePort()}/ship?${query}`;
      const toml = join(dir, "hub.toml");
      await writeFile(toml, `database_url = "${url}"\n`, { mode: 0o600 });
      const runs: { args: string[]; env: Record<string, string>; where: string }[] = [
        { args: ["token", "list", "--database-url", url], env: {}, where: "--database-url " },
        { args: ["token", "list"], env: { SHIP_HUB_DATABASE_URL: url }, where: "SHIP_HUB_DATABASE_URL " },
        { args: ["token", "list", "--config", toml], env: {}, where: `${toml}:1:1 database_url: ` },
        {
          args: ["serve", "--port", "0", "--config", toml],
          env: { SHIP_HUB_SECRET: "s".repeat(40) },
          where: `${toml}:1:1 database_url: `,
        },
      ];
      for (const { args, env, where } of runs) {
        const { code, stderr } = await runHubCli(dir, args, env);
        const lines = stderr
          .trim()
          .split("\n")
          .filter((l) => !l.includes("holds a password"));
        expect({ code, lines }, args.join(" ")).toEqual({
          code: 2,
          lines: [`ship-hub: ${where}${problem}`],
        });
        expect(stderr).not.toContain("hunter2");
      }
      expect((await readdir(dir)).sort()).toEqual(["hub.toml"]);
    },
  );

  it("a URL with libpq's sslmode values the driver honours passes the check (and then finds nothing listening)", async () => {
    for (const mode of ["disable", "prefer"]) {
      const port = await freePort();
      const { code, stderr } = await runHubCli(dir, ["token", "list"], {
        SHIP_HUB_DATABASE_URL: `postgres://ship@127.0.0.1:${port}/ship?sslmode=${mode}`,
      });
      expect({ code, stderr: stderr.trim() }).toEqual({
        code: 1,
        stderr: `ship-hub: cannot use PostgreSQL at postgres://ship@127.0.0.1:${port}/ship from SHIP_HUB_DATABASE_URL: connection refused (ECONNREFUSED)`,
      });
    }
  });
});

/**
 * A URL that asks for TLS (sslmode=require, verify-ca, verify-full, allow) of a server that has
 * none (ssl = off, as the test server and many private networks): the driver began TLS over the
 * server's "N" and failed with "Client network socket disconnected before secure TLS connection
 * was established (ECONNRESET)", exit 1, which systemd's Restart= repeats for ever. It is a setting
 * to change on one side or the other: exit 2 naming it. A real PostgreSQL without TLS.
 */
describe.skipIf(!hasPostgres())("a URL asking for TLS of a server without it", () => {
  let pg: PostgresServer | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it.each(["sslmode=require", "sslmode=verify-full", "sslmode=allow", "ssl=require"])(
    "?%s: exit 2 naming the setting, for token list and serve",
    async (mode) => {
      const url = `${await (pg as PostgresServer).createDatabase()}?${mode}`;
      const where = url.replace(/\?.*/, "");
      for (const args of [
        ["token", "list"],
        ["serve", "--port", "0"],
      ]) {
        const { code, stderr } = await runHubCli(dir, args, {
          SHIP_HUB_DATABASE_URL: url,
          SHIP_HUB_SECRET: "s".repeat(40),
        });
        expect({ code, stderr: stderr.trim() }, args.join(" ")).toEqual({
          code: 2,
          stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${where} does not take TLS connections (it answered the TLS request with "N"), but the URL asks for ${mode}: turn ssl on in the server's postgresql.conf, or set sslmode=disable (or prefer) on a network you trust`,
        });
      }
    },
  );

  it("PGSSLMODE in the hub's environment, as psql reads it, when the URL has no sslmode", async () => {
    // The driver ignored it: PGSSLMODE=require connected in plain text.
    const url = await (pg as PostgresServer).createDatabase();
    const { code, stderr } = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: url,
      PGSSLMODE: "require",
    });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${url} does not take TLS connections (it answered the TLS request with "N"), but PGSSLMODE asks for sslmode=require: turn ssl on in the server's postgresql.conf, or set sslmode=disable (or prefer) on a network you trust`,
    });
  });
});

/**
 * A URL that verifies the server (sslmode=verify-full, verify-ca) of a server whose certificate
 * this host does not trust (a private CA, a self-signed certificate): the driver's "self-signed
 * certificate (DEPTH_ZERO_SELF_SIGNED_CERT)" was exit 1, restarted for ever, though only naming
 * the CA (NODE_EXTRA_CA_CERTS) or another sslmode changes it. A real PostgreSQL with TLS on, its
 * certificate self-signed by openssl.
 */
describe.skipIf(!hasPostgres())("a URL verifying a server whose certificate is not trusted", () => {
  let pg: PostgresServer | undefined;
  let certs = "";
  beforeAll(async () => {
    pg = await startPostgres();
    certs = await mkdtemp(join(tmpdir(), "ship-pg-certs-"));
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      join(certs, "server.key"),
      "-out",
      join(certs, "server.crt"),
    ]);
    await chmod(join(certs, "server.key"), 0o600);
    // As root the server runs as postgres, which must own its key.
    if (process.getuid?.() === 0) {
      const id = async (flag: string) =>
        Number((await promisify(execFile)("id", [flag, "postgres"])).stdout.trim());
      const [uid, gid] = [await id("-u"), await id("-g")];
      for (const file of ["", "server.key", "server.crt"]) await chown(join(certs, file), uid, gid);
    }
    const admin = postgres((pg as PostgresServer).url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`ALTER SYSTEM SET ssl_cert_file = '${join(certs, "server.crt")}'`);
      await admin.unsafe(`ALTER SYSTEM SET ssl_key_file = '${join(certs, "server.key")}'`);
      await admin.unsafe("ALTER SYSTEM SET ssl = on");
      await admin`SELECT pg_reload_conf()`;
    } finally {
      await admin.end();
    }
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (certs) await rm(certs, { recursive: true, force: true });
  });

  it("sslmode=verify-full: exit 2 naming NODE_EXTRA_CA_CERTS; sslmode=require still connects", async () => {
    const database = await (pg as PostgresServer).createDatabase();
    const where = database.replace(/\?.*/, "");
    for (const args of [
      ["token", "list"],
      ["serve", "--port", "0"],
    ]) {
      const { code, stderr } = await runHubCli(dir, args, {
        SHIP_HUB_DATABASE_URL: `${database}?sslmode=verify-full`,
        SHIP_HUB_SECRET: "s".repeat(40),
      });
      expect({ code, stderr: stderr.trim() }, args.join(" ")).toEqual({
        code: 2,
        stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${where} presented a certificate this host does not trust (self-signed certificate, DEPTH_ZERO_SELF_SIGNED_CERT) under sslmode=verify-full: name the CA that signed it in NODE_EXTRA_CA_CERTS in the hub's environment, or set sslmode=require (encrypted, the server not verified)`,
      });
    }
    const encrypted = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: `${database}?sslmode=require`,
    });
    expect({ code: encrypted.code, stderr: encrypted.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("over TLS with a list of hosts: the password file's line of the host connected to is used", async () => {
    // The password is asked for over the TLS socket the driver makes itself; the hub must still
    // know which host that socket reached (per-host-password.ts).
    const server = pg as PostgresServer;
    const admin = postgres(server.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe("CREATE ROLE tlspw LOGIN PASSWORD 'tls-secret'");
      await admin.unsafe("CREATE DATABASE tlspw OWNER tlspw");
      const [hba] = await admin`SHOW hba_file`;
      const rules = [
        "local all all trust",
        "hostssl all tlspw 127.0.0.1/32 scram-sha-256",
        "host all ship 127.0.0.1/32 trust",
      ];
      await admin.unsafe(
        `COPY (SELECT unnest(ARRAY[${rules.map((r) => `'${r}'`).join(",")}])) TO '${String(hba?.hba_file)}'`,
      );
      await admin`SELECT pg_reload_conf()`;
    } finally {
      await admin.end();
    }
    const dead = await freePort();
    const pgpass = join(dir, "pgpass-tls");
    await writeFile(pgpass, `127.0.0.1:${dead}:*:*:not-this-one\n127.0.0.1:${server.port}:*:*:tls-secret\n`, {
      mode: 0o600,
    });
    const { code, stderr } = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: `postgres://tlspw@127.0.0.1:${dead},127.0.0.1:${server.port}/tlspw?sslmode=require`,
      PGPASSFILE: pgpass,
      PGPASSWORD: "",
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });
});
