/**
 * A database written by a hub whose renewals named the renewal before them (a chain, one row per
 * renewal) is flattened on upgrade: every renewal names the token the operator issued, so
 * revoking that token reaches them all and the store can prune them. Real SQLite and a real
 * PostgreSQL server, each first migrated to the schema before the flattening.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../../../hub/store/migrations.js";
import { postgresMigrations } from "../../../hub/store/postgres-migrations.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

/** Where each schema's flattening migration sits: the chains are written just before it. */
const flattening = (list: readonly string[]) =>
  list.findIndex((m) => m.includes("WITH RECURSIVE up(jti, root)"));

// issued ← r1 ← r2 ← r3 (a chain), and a second family b ← b1, as the older hub wrote them.
const CHAIN = [
  ["issued", null],
  ["r1", "issued"],
  ["r2", "r1"],
  ["r3", "r2"],
  ["b", null],
  ["b1", "b"],
] as const;
const INSERT =
  "INSERT INTO tokens (jti, role, name, agent_id, created, expires, revoked, renewed_from) VALUES ";
const values = CHAIN.map(
  ([jti, from], i) =>
    `('${jti}', 'agent', 'agent:a1', 'a1', ${i}, 1000, NULL, ${from ? `'${from}'` : "NULL"})`,
).join(", ");
const FLAT = { issued: null, r1: "issued", r2: "issued", r3: "issued", b: null, b1: "b" };

describe("renewal chains are flattened on upgrade", () => {
  let dir: string;
  let server: PostgresServer | undefined;
  const pg = hasPostgres();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-token-chain-"));
    if (pg) server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("SQLite", async () => {
    const at = flattening(migrations);
    expect(at).toBeGreaterThan(0);
    const file = join(dir, "hub.db");
    const db = new Database(file);
    db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    for (let i = 0; i < at; i++) {
      db.exec(migrations[i] as string);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(i + 1);
    }
    db.exec(INSERT + values);
    db.close();
    const store = sqliteAsyncStore(new SqliteStore(file), join(dir, "artifacts"));
    try {
      const list = await store.listTokens();
      expect(Object.fromEntries(list.map((t) => [t.jti, t.renewedFrom]))).toEqual(FLAT);
      expect(await store.revokeToken("issued", 5)).toEqual(["issued", "r1", "r2", "r3"]);
      expect((await store.revokedTokensInForce(5)).sort()).toEqual(["issued", "r1", "r2", "r3"]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!pg)("PostgreSQL", async () => {
    const at = flattening(postgresMigrations);
    expect(at).toBeGreaterThan(0);
    const url = await (server as PostgresServer).createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await admin.begin(async (t) => {
        await t`CREATE TABLE schema_version (version INTEGER NOT NULL)`;
        for (let i = 0; i < at; i++) {
          await t.unsafe(postgresMigrations[i] as string).simple();
          await t`INSERT INTO schema_version (version) VALUES (${i + 1})`;
        }
        await t.unsafe(INSERT + values);
      });
    } finally {
      await admin.end();
    }
    const store = await openPostgresStore(url);
    try {
      const list = await store.listTokens();
      expect(Object.fromEntries(list.map((t) => [t.jti, t.renewedFrom]))).toEqual(FLAT);
      expect(await store.revokeToken("r2", 5)).toEqual(["issued", "r1", "r2", "r3"]);
      expect((await store.revokedTokensInForce(5)).sort()).toEqual(["issued", "r1", "r2", "r3"]);
    } finally {
      await store.close();
    }
  });
});
