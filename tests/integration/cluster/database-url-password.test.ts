/**
 * The password of a hub's database user, in each place an operator may keep it, against a real
 * PostgreSQL that asks for it (scram-sha-256). libpq reads ~/.pgpass when the URL holds none; the
 * driver does not, and the operator who kept it there saw only "password authentication failed"
 * and looked for a wrong password. It is read now, as libpq reads it (PGPASSFILE, `\:` escapes,
 * not when others may read it), and a refusal with no password says where one was looked for. A
 * password with @ : / % in it, percent-encoded in the URL, and PGPASSWORD work too, and so does
 * a database name percent-encoded in the path.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../../hub/store/postgres-store.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

const PASSWORD = "p@ss:w/rd%41 #?";
/** libpq decodes the URL's path; the driver looked for a database named `hub%20%C3%A9%2Fpw`. */
const ODD_DATABASE = "hub é/pw";

describe.skipIf(!hasPostgres())("the database user's password", () => {
  let pg: PostgresServer;
  let dir: string;
  let at: string;
  beforeAll(async () => {
    requireHubBin();
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-dburl-password-"));
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`CREATE ROLE hubpw LOGIN PASSWORD '${PASSWORD}'`);
      await admin.unsafe("CREATE DATABASE hubpw OWNER hubpw");
      await admin.unsafe(`CREATE DATABASE "${ODD_DATABASE}" OWNER hubpw`);
      // The test server trusts everyone; this user must give its password over TCP.
      const [hba] = await admin`SHOW hba_file`;
      const rules = [
        "local all all trust",
        "host all ship 127.0.0.1/32 trust",
        "host all all 127.0.0.1/32 scram-sha-256",
      ];
      await admin.unsafe(
        `COPY (SELECT unnest(ARRAY[${rules.map((r) => `'${r}'`).join(",")}])) TO '${String(hba?.hba_file)}'`,
      );
      await admin`SELECT pg_reload_conf()`;
    } finally {
      await admin.end();
    }
    at = `127.0.0.1:${pg.port}/hubpw`;
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const list = (env: Record<string, string>) =>
    runHubCli(dir, ["token", "list"], { PGPASSWORD: "", PGPASSFILE: join(dir, "no-pgpass"), ...env });

  /** A password file holding `line`, with `mode`. */
  async function passFile(name: string, line: string, mode: number): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, `# the hub's\n*:*:other:hubpw:wrong\n${line}\n`, { mode });
    await chmod(file, mode);
    return file;
  }

  it("percent-encoded in the URL, @ : / % and all, in PGPASSWORD or the password file: the database is used", async () => {
    const escaped = PASSWORD.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
    const places: Record<string, string>[] = [
      { SHIP_HUB_DATABASE_URL: `postgres://hubpw:${encodeURIComponent(PASSWORD)}@${at}` },
      { SHIP_HUB_DATABASE_URL: `postgres://hubpw@${at}`, PGPASSWORD: PASSWORD },
      {
        SHIP_HUB_DATABASE_URL: `postgres://hubpw@127.0.0.1:${pg.port}/${encodeURIComponent(ODD_DATABASE)}`,
        PGPASSWORD: PASSWORD,
      },
      {
        SHIP_HUB_DATABASE_URL: `postgres://hubpw@${at}`,
        PGPASSFILE: await passFile("pgpass", `127.0.0.1:${pg.port}:hubpw:*:${escaped}`, 0o600),
      },
    ];
    for (const env of places) {
      const { code, stdout, stderr } = await list(env);
      expect({ code, stderr }, JSON.stringify(env)).toEqual({ code: 0, stderr: "" });
      expect(stdout).toContain("JTI");
    }
  });

  it("a list of hosts: the password file is read for the host connected to, as libpq reads it", async () => {
    // Nothing listens on the first host, so the hub connects to the second: libpq looks up its
    // line; the driver was given the first host's password and was refused.
    const dead = await freePort();
    const file = await passFile(
      "pgpass-hosts",
      `127.0.0.1:${dead}:hubpw:hubpw:not-this-one\n127.0.0.1:${pg.port}:hubpw:hubpw:${PASSWORD.replaceAll(":", "\\:")}`,
      0o600,
    );
    const { code, stdout, stderr } = await list({
      SHIP_HUB_DATABASE_URL: `postgres://hubpw@127.0.0.1:${dead},127.0.0.1:${pg.port}/hubpw`,
      PGPASSFILE: file,
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("JTI");
  });

  it("a user but no host (postgres://user@/db): PGHOST and PGPORT name the server, as libpq reads them", async () => {
    const env = { PGHOST: "127.0.0.1", PGPORT: String(pg.port) };
    for (const url of [
      "postgres://hubpw@/hubpw",
      `postgresql://hubpw:${encodeURIComponent(PASSWORD)}@/hubpw`,
      "postgres://hubpw@/hubpw?connect_timeout=5",
    ]) {
      const { code, stdout, stderr } = await list({
        ...env,
        SHIP_HUB_DATABASE_URL: url,
        ...(url.includes(":p") ? {} : { PGPASSWORD: PASSWORD }),
      });
      expect({ code, stderr }, url).toEqual({ code: 0, stderr: "" });
      expect(stdout, url).toContain("JTI");
    }
    // PGHOST's list completes the URL after its user (it was written before it, a broken URL).
    const dead = await freePort();
    const listed = await list({
      PGHOST: "127.0.0.1,127.0.0.1",
      PGPORT: `${dead},${pg.port}`,
      PGPASSWORD: PASSWORD,
      SHIP_HUB_DATABASE_URL: "postgres://hubpw@/hubpw",
    });
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it.each([
    [
      "5432,5433",
      "is 5432,5433: 2 ports for the one host of the database URL (list the hosts in PGHOST or the URL, one port each)",
    ],
    ["54x", "is 54x, not a port number (1-65535)"],
    ["70000", "is 70000, not a port number (1-65535)"],
  ])("PGPORT=%s, which libpq refuses for one host: exit 2 naming it", async (port, problem) => {
    const { code, stderr } = await list({
      PGHOST: "127.0.0.1",
      PGPORT: port,
      // The driver read the first number in it and connected there: refused, exit 1.
      SHIP_HUB_DATABASE_URL: "postgres://hubpw@127.0.0.1/hubpw",
    });
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 2, stderr: `ship-hub: PGPORT ${problem}` });
  });

  it("none given: exit 2 saying where one was looked for, and why a password file was not read", async () => {
    const open = await passFile("pgpass-open", `*:*:*:*:${PASSWORD}`, 0o644);
    const { code, stderr } = await list({
      SHIP_HUB_DATABASE_URL: `postgres://hubpw@${at}`,
      PGPASSFILE: open,
    });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at postgres://hubpw@${at} refused: password authentication failed for user "hubpw": no password was given: none in the URL (percent-encoded), in PGPASSWORD, or for 127.0.0.1:${pg.port}:hubpw:hubpw in ${open} (lines HOST:PORT:DATABASE:USER:PASSWORD, chmod 600); ${open} was not read: group or others may read it (chmod 600 ${open}, as libpq requires)`,
    });
  });

  it("none given for a list of hosts: exit 2 naming the line of each host it has none for, not only the first's", async () => {
    // The first host is down, so the second one refuses; the file has a line for the first only,
    // or no line at all.
    const dead = await freePort();
    const url = `postgres://hubpw@127.0.0.1:${dead},127.0.0.1:${pg.port}/hubpw`;
    const cases: [string, string][] = [
      [
        await passFile(
          "pgpass-first-host",
          `127.0.0.1:${dead}:hubpw:hubpw:${PASSWORD.replaceAll(":", "\\:")}`,
          0o600,
        ),
        `for 127.0.0.1:${pg.port}: none in the URL (percent-encoded), in PGPASSWORD, or for 127.0.0.1:${pg.port}:hubpw:hubpw in`,
      ],
      [
        join(dir, "no-pgpass"),
        `for 127.0.0.1:${dead}, 127.0.0.1:${pg.port}: none in the URL (percent-encoded), in PGPASSWORD, or for 127.0.0.1:${dead}:hubpw:hubpw or 127.0.0.1:${pg.port}:hubpw:hubpw in`,
      ],
    ];
    for (const [file, said] of cases) {
      const { code, stderr } = await list({ SHIP_HUB_DATABASE_URL: url, PGPASSFILE: file });
      // Which answer reports the refusal, the pool's or the per-host survey's (which adds the
      // SQLSTATE), is a race: both name the refusal and each host's missing line.
      expect(code, `${file}: ${stderr}`).toBe(2);
      expect(stderr).toContain('password authentication failed for user "hubpw"');
      expect(stderr).toContain(
        `: no password was given ${said} ${file} (lines HOST:PORT:DATABASE:USER:PASSWORD, chmod 600)`,
      );
    }
  });

  it("rotated in the password file: the next connection uses the new one, no hub restart", async () => {
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    const file = await passFile("pgpass-rotated", `127.0.0.1:${pg.port}:hubpw:hubpw:old-one`, 0o600);
    process.env.PGPASSFILE = file;
    delete process.env.PGPASSWORD;
    let store: PostgresStore | undefined;
    try {
      await admin.unsafe("ALTER ROLE hubpw PASSWORD 'old-one'");
      store = await openPostgresStore(`postgres://hubpw@${at}`, { maxConnections: 1 });
      expect(await store.getRollout("none")).toBeUndefined();
      // The operator rotates it: in the database, then in the file; the hub's connection drops.
      await admin.unsafe("ALTER ROLE hubpw PASSWORD 'new-one'");
      await passFile("pgpass-rotated", `127.0.0.1:${pg.port}:hubpw:hubpw:new-one`, 0o600);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'hubpw'`;
      const opened = store;
      // Before, the new connections kept giving the old password and every call waited out the
      // answer deadline, until the pool was taken for silent and replaced (the file read again).
      const replaced: number[] = [];
      opened.onConnectionsReplaced((silentMs) => replaced.push(silentMs));
      await expect
        .poll(
          () =>
            opened.getRollout("none").then(
              () => "answered",
              (error: unknown) => String(error),
            ),
          {
            timeout: 20_000,
          },
        )
        .toBe("answered");
      expect(replaced).toEqual([]);
    } finally {
      await store?.close();
      await admin.unsafe(`ALTER ROLE hubpw PASSWORD '${PASSWORD}'`);
      await admin.end();
      for (const [key, value] of Object.entries(saved))
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
    }
  });

  it("with a space pasted as is: exit 2 saying so, not that the scheme is wrong", async () => {
    const { code, stderr } = await list({ SHIP_HUB_DATABASE_URL: `postgres://hubpw:two words@${at}` });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr:
        "ship-hub: SHIP_HUB_DATABASE_URL is not a valid URL: it holds a space (or other white space); percent-encode it in the user name or password (%20)",
    });
  });

  it("a wrong one: exit 2 naming the refusal, and not the password", async () => {
    const { code, stderr } = await list({ SHIP_HUB_DATABASE_URL: `postgres://hubpw:hunter2@${at}` });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at postgres://hubpw@${at} refused: password authentication failed for user "hubpw"`,
    });
  });
});
