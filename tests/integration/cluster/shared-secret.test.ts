import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stopProcess, tomlOf } from "../../e2e/fleet.js";
import { canRunCluster, listeningUrl } from "../../support/cluster.js";
import { HUB_BIN, runHubCli } from "../../support/hub-cli.js";
import { type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

// Hubs on one database must share their JWT secret. A hub given another one used to start, look
// healthy, and answer 401 to every token the other hubs signed (a third of the fleet behind a
// balancer); `token create` with it printed tokens no hub accepted.
const run = canRunCluster();

let pg: PostgresServer;
let dir: string;
let databaseUrl: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (run) pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => stopProcess(child, "SIGKILL")));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A hub.toml with its own secret file; heartbeats every second, dead after 2 s of silence (default). */
async function hubConfig(name: string, secret: string, hubTimeoutSeconds = 2): Promise<string> {
  const secretFile = join(dir, `${name}.secret`);
  await writeFile(secretFile, secret, { mode: 0o600 });
  const file = join(dir, `${name}.toml`);
  await writeFile(
    file,
    tomlOf({
      host: "127.0.0.1",
      data_dir: join(dir, name),
      jwt_secret_file: secretFile,
      log_level: "warn",
      cluster_heartbeat_seconds: 1,
      cluster_hub_timeout_seconds: hubTimeoutSeconds,
    }),
  );
  return file;
}

const env = () => ({ SHIP_HUB_DATABASE_URL: databaseUrl });

/** `ship-hub serve` until it listens; its URL. */
async function serve(config: string): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [HUB_BIN, "serve", "--config", config, "--port", "0"], {
    env: { ...process.env, SHIP_HUB_SECRET: "", ...env() },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, which stopProcess signals.
    detached: true,
  });
  children.push(child);
  let err = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const url = await listeningUrl(child, () => `: ${err}`);
  return { url, child, log: () => err };
}

async function status(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api/v1/rollouts`, { headers: { authorization: `Bearer ${token}` } })).status;
}

describe.skipIf(!run)("hubs on one PostgreSQL share one JWT secret", () => {
  it("a hub or a token create with another secret is refused (exit 2, naming where it was set) while a hub runs", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-secret-"));
    databaseUrl = await pg.createDatabase();
    const first = await hubConfig("a", randomBytes(48).toString("base64"));
    const other = await hubConfig("b", randomBytes(48).toString("base64"));
    const a = await serve(first);
    const token = (
      await runHubCli(dir, ["token", "create", "--config", first, "--role", "operator"], env())
    ).stdout.trim();
    expect(await status(a.url, token)).toBe(200);

    const refused = await runHubCli(dir, ["serve", "--config", other, "--port", "0"], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(
      new RegExp(`${other}:\\d+:\\d+ jwt_secret_file: is not the JWT secret of the hub running on`),
    );
    expect(refused.stdout).not.toContain("listening");

    const minted = await runHubCli(dir, ["token", "create", "--config", other, "--role", "operator"], env());
    expect(minted.code).toBe(2);
    expect(minted.stdout).toBe("");
    expect(minted.stderr).toMatch(/jwt_secret_file: is not the JWT secret .* every hub would refuse a token/);

    // SHIP_HUB_SECRET is named when it is what set the secret.
    const byEnv = await runHubCli(dir, ["serve", "--config", first, "--port", "0"], {
      ...env(),
      SHIP_HUB_SECRET: randomBytes(48).toString("base64"),
    });
    expect(byEnv.code).toBe(2);
    expect(byEnv.stderr).toMatch(/^ship-hub: SHIP_HUB_SECRET is not the JWT secret/);

    // The same secret is welcome, and its tokens work on both hubs.
    const same = await serve(first);
    expect(await status(same.url, token)).toBe(200);
    expect(await status(a.url, token)).toBe(200);
  }, 90_000);

  it("a changed secret is taken once every hub is stopped; tokens of the old one are refused then", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-secret-"));
    databaseUrl = await pg.createDatabase();
    // A hub stopped cleanly says so: the change needs no wait for the hub timeout (30 s here).
    const first = await hubConfig("a", randomBytes(48).toString("base64"), 30);
    const rotated = await hubConfig("b", randomBytes(48).toString("base64"), 30);
    const a = await serve(first);
    const old = (
      await runHubCli(dir, ["token", "create", "--config", first, "--role", "operator"], env())
    ).stdout.trim();
    await stopProcess(a.child, "SIGTERM");
    const b = await serve(rotated);
    expect(b.log()).toContain("none of them is running: this hub's secret is the cluster's from now on");
    expect(await status(b.url, old)).toBe(401);
    const fresh = (
      await runHubCli(dir, ["token", "create", "--config", rotated, "--role", "operator"], env())
    ).stdout.trim();
    expect(await status(b.url, fresh)).toBe(200);
    // And now the old secret is the stranger.
    const back = await runHubCli(dir, ["serve", "--config", first, "--port", "0"], env());
    expect(back.code).toBe(2);
  }, 90_000);

  it("a changed secret is taken at once after every hub was killed (SIGKILL, a power cut)", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-secret-"));
    databaseUrl = await pg.createDatabase();
    // A killed hub's row looks live for its timeout; only a database restarted within it leaves
    // the hubs to heartbeats alone, so this one must have been up longer.
    const timeoutS = 8;
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      for (;;) {
        const [row] =
          await admin`SELECT now() - pg_postmaster_start_time() > make_interval(secs => ${timeoutS}) AS old`;
        if (row?.old === true) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await admin.end();
    }
    const first = await hubConfig("a", randomBytes(48).toString("base64"), timeoutS);
    const rotated = await hubConfig("b", randomBytes(48).toString("base64"), timeoutS);
    const a = await serve(first);
    await stopProcess(a.child, "SIGKILL");
    const b = await serve(rotated);
    expect(b.log()).toContain("none of them is running: this hub's secret is the cluster's from now on");
  }, 60_000);
});
