/**
 * A cluster hub whose host's wall clock is stepped (NTP correcting a VM after a pause, an operator
 * running `date -s`). The hub's watchdog measured the time since its last heartbeat with the wall
 * clock, so a step forward past cluster_hub_timeout_seconds read as a silent database: the hub
 * logged "no heartbeat written within the hub timeout" and closed every agent connection, though
 * it had heartbeated a second before. It now measures intervals with the monotonic clock. A real
 * `ship-hub serve` on a real PostgreSQL whose Date.now() is stepped a minute forward (a preload
 * module: the test cannot step the machine's clock), with a real WebSocket agent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl } from "../../support/cluster.js";
import { HUB_BIN, requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { TestAgent } from "../hub/support.js";

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";
const STEP_AFTER_MS = 4_000;

// Date.now() jumps a minute ahead STEP_AFTER_MS after the process started, as a stepped clock does.
const STEP_PRELOAD = `const real = Date.now;
const start = real();
Date.now = () => { const t = real(); return t - start >= ${STEP_AFTER_MS} ? t + 60000 : t; };
`;

describe.skipIf(!hasPostgres())("a cluster hub whose wall clock is stepped forward", () => {
  let pg: PostgresServer | undefined;
  let dir = "";
  let hub: ChildProcess | undefined;
  beforeAll(async () => {
    requireHubBin();
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-clock-step-"));
  }, 60_000);
  afterAll(async () => {
    hub?.kill("SIGKILL");
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps its agents connected and does not report a silent database", async () => {
    const url = await (pg as PostgresServer).createDatabase();
    const env = { SHIP_HUB_DATABASE_URL: url, SHIP_HUB_SECRET: SECRET };
    await writeFile(join(dir, "step.mjs"), STEP_PRELOAD);
    await writeFile(
      join(dir, "hub.toml"),
      "cluster_heartbeat_seconds = 1\ncluster_hub_timeout_seconds = 10\n",
    );
    let stderr = "";
    hub = spawn(process.execPath, [HUB_BIN, "serve", "--port", "0", "--config", join(dir, "hub.toml")], {
      cwd: dir,
      env: { ...process.env, ...env, NODE_OPTIONS: `--import ${join(dir, "step.mjs")}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    hub.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const hubUrl = await listeningUrl(hub, () => `: ${stderr}`);
    const minted = await runHubCli(dir, ["token", "create", "--role", "agent", "--agent", "a1"], env);
    expect(minted.code, minted.stderr).toBe(0);
    const agent = await TestAgent.connect(hubUrl, minted.stdout.trim());
    try {
      let closed = false;
      void agent.closed().then(() => {
        closed = true;
      });
      agent.hello("a1");
      // Past the step, and a few watchdog rounds after it.
      await sleep(STEP_AFTER_MS + 4_000);
      expect(stderr).not.toContain("no heartbeat written within the hub timeout");
      expect(closed).toBe(false);
    } finally {
      agent.ws.terminate();
    }
  }, 60_000);
});
