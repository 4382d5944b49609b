#!/usr/bin/env node
// Issues the hub bench's tokens in bulk with the hub's own TokenService and store (one transaction,
// so 10,000 agent tokens cost one commit): one operator token, one ci token and one agent token per agent id.
//   node tests/performance/mint-tokens.mjs <data-dir> <agent-count> <out.json> [postgres-url [prefix]]
// With SHIP_HUB_SECRET set they are signed with it (a cluster's shared secret). With a PostgreSQL
// URL (a migrated cluster database) the token rows are then copied there, in one statement per
// 1,000 rows, so every hub of the cluster accepts them. Agent ids are <prefix>-00000 … (prefix
// default bench; "-" as postgres-url means none).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import postgres from "postgres";
import { dist } from "./bench-support.mjs";

const [dataDir, countArg, outFile, postgresArg, prefix = "bench"] = process.argv.slice(2);
const postgresUrl = postgresArg === "-" ? undefined : postgresArg;
if (!dataDir || !countArg || !outFile)
  throw new Error("usage: mint-tokens.mjs <data-dir> <count> <out.json> [postgres-url]");
const { openHubState } = await import(pathToFileURL(join(dist, "hub/state.js")).href);
const { TokenService } = await import(pathToFileURL(join(dist, "hub/auth/tokens.js")).href);

const envSecret = process.env.SHIP_HUB_SECRET;
const { store, secret } = await openHubState({ dataDir, ...(envSecret ? { envSecret } : {}) });
const ttlSeconds = 24 * 3600;
const out = await store.tx(async (t) => {
  const tokens = new TokenService(secret, t);
  const operator = (await tokens.issue({ role: "operator", name: "bench", ttlSeconds })).token;
  // Only CI publishes releases.
  const ci = (await tokens.issue({ role: "ci", name: "bench-ci", ttlSeconds })).token;
  const agents = [];
  for (let i = 0; i < Number(countArg); i++) {
    const id = `${prefix}-${String(i).padStart(5, "0")}`;
    agents.push({ id, token: (await tokens.issue({ role: "agent", agentId: id, ttlSeconds })).token });
  }
  return { operator, ci, agents };
});
await store.close();
if (postgresUrl) await copyTokens(join(dataDir, "hub.db"), postgresUrl);
writeFileSync(outFile, JSON.stringify(out));

/** The tokens table is the same column for column in both stores (hub/store/postgres-migrations.ts). */
async function copyTokens(sqliteFile, url) {
  const db = new Database(sqliteFile, { readonly: true });
  const rows = db.prepare("SELECT * FROM tokens").all();
  db.close();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let i = 0; i < rows.length; i += 1000) {
      // sql.json: a plain string parameter cast to json would be serialized again, as a scalar.
      const chunk = sql.json(rows.slice(i, i + 1000));
      await sql`INSERT INTO tokens (jti, role, name, agent_id, created, expires, revoked, renewed_from)
        SELECT jti, role, name, agent_id, created, expires, revoked, renewed_from
        FROM json_to_recordset(${chunk}::json) AS t(jti text, role text, name text, agent_id text,
          created bigint, expires bigint, revoked bigint, renewed_from text)`;
    }
  } finally {
    await sql.end();
  }
}
