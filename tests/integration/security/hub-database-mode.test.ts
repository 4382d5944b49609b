/**
 * The hub's SQLite database holds what its API masks for people (webhook URLs and headers of
 * release manifests) and agents' reports: a new one is owner-only, wherever `--db` puts it, and so
 * are the -wal and -shm files SQLite makes beside it.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub } from "../../../hub/server.js";
import { memoryLogger } from "../../../shared/log.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let root: string;
beforeAll(async () => {
  requireHubBin();
  root = await mkdtemp(join(tmpdir(), "ship-hub-db-mode-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

describe("a new hub database is readable by its owner only", () => {
  it("token create with --db in a shared directory makes the database 0600", async () => {
    const shared = join(root, "shared");
    await mkdir(shared);
    await chmod(shared, 0o755);
    const db = join(shared, "hub.db");
    const result = await runHubCli(root, [
      "token",
      "create",
      "--role",
      "ci",
      "--db",
      db,
      "--data-dir",
      join(root, "data"),
    ]);
    expect(result.code).toBe(0);
    expect(await modeOf(db)).toBe(0o600);
  });

  it("a serving hub's database and its -wal and -shm files are 0600", async () => {
    const shared = join(root, "served");
    await mkdir(shared);
    await chmod(shared, 0o755);
    const hub = await startHub({
      host: "127.0.0.1",
      port: 0,
      dataDir: join(root, "served-data"),
      dbFile: join(shared, "hub.db"),
      pingIntervalMs: 60_000,
      offlineTimeoutMs: 60_000,
      tickIntervalMs: 1000,
      maxArtifactBytes: 1 << 20,
      maxPayloadBytes: 64 << 10,
      log: memoryLogger(),
    });
    try {
      await hub.tokens.issue({ role: "operator", ttlSeconds: 60 });
      const files = (await readdir(shared)).sort();
      expect(files).toEqual(["hub.db", "hub.db-shm", "hub.db-wal"]);
      for (const file of files)
        expect({ file, mode: await modeOf(join(shared, file)) }).toEqual({ file, mode: 0o600 });
    } finally {
      await hub.close();
    }
  });
});
