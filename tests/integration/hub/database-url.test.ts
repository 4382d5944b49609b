import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/servers/free-port.js";

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

// A database URL puts every hub command on PostgreSQL. Refusals happen before anything is created
// or connected: the secret rule first, then the database itself, each as one line.
describe("ship-hub with a database URL", () => {
  const SECRET = "s".repeat(40);

  it.each([
    [
      ["--database-url", ""],
      /^ship-hub: --database-url is empty: must be a postgres:\/\/ or postgresql:\/\/ URL$/,
    ],
    [
      ["--database-url", "mysql://ship:pw@127.0.0.1/ship"],
      /^ship-hub: --database-url is not accepted: must be a postgres:\/\//,
    ],
    [["--database-url", "http://ship:pw@127.0.0.1:5432/ship"], /^ship-hub: --database-url is not accepted/],
  ])(
    "serve %j: exit 2 naming the flag, no password, nothing created (never a quiet SQLite hub)",
    async (args, message) => {
      const { code, stderr } = await hub(["serve", "--port", "0", "--data-dir", "data", ...args], {
        SHIP_HUB_SECRET: SECRET,
      });
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr.trim()).toMatch(message);
      expect(stderr).not.toContain("pw");
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it("SHIP_HUB_DATABASE_URL that is not postgres:// is refused the same way", async () => {
    const { code, stderr } = await hub(["token", "list", "--data-dir", "data"], {
      SHIP_HUB_SECRET: SECRET,
      SHIP_HUB_DATABASE_URL: "mysql://ship:pw@127.0.0.1/ship",
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^ship-hub: SHIP_HUB_DATABASE_URL is not accepted/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a generated per-hub secret in cluster mode, naming jwt_secret_file and SHIP_HUB_SECRET", async () => {
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
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^ship-hub: --database-url hubs sharing a database must share their JWT secret/);
    expect(stderr).toContain("jwt_secret_file");
    expect(stderr).toContain("SHIP_HUB_SECRET");
    expect(await readdir(dir)).toEqual([]);
  });

  it("a database that cannot be reached: one line naming its host, never the password, exit 1", async () => {
    const port = await freePort();
    for (const args of [
      ["token", "create", "--role", "ci"],
      ["serve", "--port", "0"],
    ]) {
      const { code, stderr } = await hub(args, {
        SHIP_HUB_DATABASE_URL: `postgresql://ship:hunter2secret@127.0.0.1:${port}/ship`,
        SHIP_HUB_SECRET: SECRET,
      });
      expect(code, stderr).toBe(1);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain(`cannot use PostgreSQL at postgresql://ship@127.0.0.1:${port}/ship`);
      expect(stderr).toContain("ECONNREFUSED");
      expect(stderr).not.toContain("hunter2secret");
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it("hub.toml's database_url needs a shared secret, and a URL that is not postgres:// is bad input", async () => {
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\ndatabase_url = "postgres://ship@db/ship"\n');
    const refused = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "hub.toml database_url: hubs sharing a database must share their JWT secret",
    );
    await writeFile(join(dir, "hub.toml"), 'database_url = "mysql://db/ship"\n');
    const bad = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hub.toml database_url: must be a postgres:// or postgresql:// URL");
    expect(await readdir(dir)).toEqual(["hub.toml"]);
  });
});
