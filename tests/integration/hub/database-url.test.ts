import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const MAIN = resolve("dist/hub/cli/main.js");

let dir: string;
beforeAll(() => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} missing: build first (npx tsc -p tsconfig.json; npm test does)`);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-dburl-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs ship-hub; resolves with exit code and stderr whether it failed or not. */
async function hub(args: string[], env: Record<string, string> = {}) {
  try {
    await run(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env: { ...process.env, SHIP_HUB_DATABASE_URL: "", ...env },
      timeout: 30_000,
    });
    return { code: 0, stderr: "" };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? "" };
  }
}

// PostgreSQL mode has a store (docs/cluster.md) but no hub command runs on it yet: a hub given a
// database URL must refuse, never quietly serve from its own SQLite file.
describe("ship-hub with a database URL", () => {
  it("serve refuses --database-url, naming the flag, and creates nothing", async () => {
    const { code, stderr } = await hub([
      "serve",
      "--port",
      "0",
      "--data-dir",
      "data",
      "--database-url",
      "postgres://ship@127.0.0.1:5432/ship",
    ]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      "ship-hub: --database-url PostgreSQL mode is not wired to the hub yet (see docs/cluster.md); remove it to use the embedded SQLite database",
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("token create refuses SHIP_HUB_DATABASE_URL, naming the variable", async () => {
    const { code, stderr } = await hub(["token", "create", "--data-dir", "data", "--role", "ci"], {
      SHIP_HUB_DATABASE_URL: "postgresql://ship@db/ship",
    });
    expect(code).toBe(2);
    expect(stderr).toContain("SHIP_HUB_DATABASE_URL PostgreSQL mode is not wired to the hub yet");
    expect(await readdir(dir)).toEqual([]);
  });

  it("serve refuses database_url in hub.toml, and a URL that is not postgres:// is bad input", async () => {
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\ndatabase_url = "postgres://ship@db/ship"\n');
    const refused = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("hub.toml database_url: PostgreSQL mode is not wired to the hub yet");
    await writeFile(join(dir, "hub.toml"), 'database_url = "mysql://db/ship"\n');
    const bad = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hub.toml database_url: must be a postgres:// or postgresql:// URL");
    expect(await readdir(dir)).toEqual(["hub.toml"]);
  });
});
