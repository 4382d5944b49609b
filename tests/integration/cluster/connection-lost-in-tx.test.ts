/**
 * A hub's transactions when PostgreSQL goes away under them (a restart, a stop, a network cut).
 * The driver's own `sql.begin` wrote its ROLLBACK to the lost connection a tick later and threw
 * `TypeError: Cannot read properties of null (reading 'write')` from a timer: the hub process died
 * with its database (seen in CI as a hub that stopped answering during a database outage). The
 * store's transactions go through beginTx (hub/store/postgres-begin.ts): each rejects with
 * CONNECTION_CLOSED and the process lives on. A real PostgreSQL stopped with transactions open, in a
 * child process that runs the built store code.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hasPostgres, startPostgres } from "../../support/servers/postgres.js";

const dist = (path: string) => fileURLToPath(new URL(`../../../dist/hub/store/${path}`, import.meta.url));

/** Opens 8 transactions that wait in the database; prints "open", then how each ended, then "alive". */
const SCRIPT = `
  const { connectPostgres } = await import(process.argv[2]);
  const { beginTx } = await import(process.argv[3]);
  const sql = connectPostgres(process.argv[1], 4);
  const runs = [];
  for (let i = 0; i < 8; i++)
    runs.push(
      beginTx(sql, async (t) => {
        await t\`SELECT 1\`;
        await t\`SELECT pg_sleep(30)\`;
      }).then(() => "committed", (e) => e.code ?? e.message),
    );
  setTimeout(() => console.log("open"), 500);
  console.log(JSON.stringify([...new Set(await Promise.all(runs))]));
  setTimeout(() => { console.log("alive"); process.exit(0); }, 1000);
`;

describe.runIf(hasPostgres() || process.env.CI === "true")("transactions whose connection is lost", () => {
  it("reject (CONNECTION_CLOSED), and the process lives on", async () => {
    const pg = await startPostgres();
    const url = await pg.createDatabase();
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", SCRIPT, url, dist("postgres-store.js"), dist("postgres-begin.js")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | string>((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? String(signal))),
    );
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toContain("open");
    } finally {
      await pg.stop();
    }
    expect(await exited, out).toBe(0);
    // The 4 open on a connection lose it; the 4 queued behind them find the database gone.
    const endings = JSON.parse(out.split("\n")[1] ?? "[]") as string[];
    expect(endings).toContain("CONNECTION_CLOSED");
    expect(endings).not.toContain("committed");
    expect(out).toContain("alive");
    expect(out).not.toContain("TypeError");
  }, 60_000);
});
