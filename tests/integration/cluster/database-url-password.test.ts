/**
 * The password of a hub's database user, in each place an operator may keep it, against a real
 * PostgreSQL that asks for it (scram-sha-256). libpq reads ~/.pgpass when the URL holds none; the
 * driver does not, and the operator who kept it there saw only "password authentication failed"
 * and looked for a wrong password. That refusal now says no password was given and where to put
 * one. A password with @ : / % in it, percent-encoded in the URL, and PGPASSWORD both work.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

const PASSWORD = "p@ss:w/rd%41 #?";

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

  const list = (env: Record<string, string>) => runHubCli(dir, ["token", "list"], { PGPASSWORD: "", ...env });

  it("percent-encoded in the URL, @ : / % and all, or in PGPASSWORD: the database is used", async () => {
    const places: Record<string, string>[] = [
      { SHIP_HUB_DATABASE_URL: `postgres://hubpw:${encodeURIComponent(PASSWORD)}@${at}` },
      { SHIP_HUB_DATABASE_URL: `postgres://hubpw@${at}`, PGPASSWORD: PASSWORD },
    ];
    for (const env of places) {
      const { code, stdout, stderr } = await list(env);
      expect({ code, stderr }, JSON.stringify(env)).toEqual({ code: 0, stderr: "" });
      expect(stdout).toContain("JTI");
    }
  });

  it("none given: exit 2 saying so, and that ~/.pgpass is not read", async () => {
    const { code, stderr } = await list({ SHIP_HUB_DATABASE_URL: `postgres://hubpw@${at}` });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at postgres://hubpw@${at} refused: password authentication failed for user "hubpw": no password was given (ship-hub does not read ~/.pgpass or PGPASSFILE); put it in the URL, percent-encoded, or in PGPASSWORD`,
    });
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
