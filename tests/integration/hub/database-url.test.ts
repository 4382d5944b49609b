import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";

let dir: string;
beforeAll(requireHubBin);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-dburl-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hub = (args: string[], env: Record<string, string> = {}) => runHubCli(dir, args, env);

// A database URL puts every hub command on PostgreSQL. Refusals happen before anything is created
// or connected: the secret rule first, then the database itself, each as one line.
describe("ship-hub with a database URL", () => {
  const SECRET = "s".repeat(40);

  it.each([
    [
      ["--database-url", ""],
      // Refused by the check every flag gets (an empty value is usually an unset shell variable).
      /^ship-hub: --database-url is empty: give it a value$/,
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
      "hub.toml:2:1 database_url: hubs sharing a database must share their JWT secret",
    );
    await writeFile(join(dir, "hub.toml"), 'database_url = "mysql://db/ship"\n');
    const bad = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hub.toml:1:1 database_url: must be a postgres:// or postgresql:// URL");
    expect(await readdir(dir)).toEqual(["hub.toml"]);
  });
});

// A URL with the right scheme that the driver cannot parse used to say "(unparsable URL) refused:
// Invalid URL" without naming where it came from.
describe("ship-hub with a malformed PostgreSQL URL", () => {
  const SECRET = "s".repeat(40);
  const BAD = [
    "postgres://ship:pw@[db/ship",
    "postgres://ship:pw@db:99999/ship",
    "postgres://ship:p%zzw@db/ship",
  ];

  it.each(BAD)("%s is one line naming the flag, the variable or the hub.toml key, exit 2", async (url) => {
    await writeFile(join(dir, "hub.toml"), `database_url = "${url}"\n`);
    for (const [args, env, where] of [
      [["token", "list", "--database-url", url], {}, "--database-url"],
      [["serve", "--port", "0"], { SHIP_HUB_DATABASE_URL: url }, "SHIP_HUB_DATABASE_URL"],
      [["token", "create", "--role", "ci", "--config", "hub.toml"], {}, "hub.toml:1:1 database_url:"],
    ] as const) {
      const { code, stderr } = await hub([...args], { SHIP_HUB_SECRET: SECRET, ...env });
      expect(code, stderr).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^ship-hub: ${where} is not a valid URL`));
      expect(stderr).not.toContain("pw");
      expect(stderr).not.toContain("unparsable");
    }
    expect(await readdir(dir)).toEqual(["hub.toml"]);
  });
});

// With a database URL the hub uses no SQLite file or data dir: --db and --data-dir used to be
// silently ignored. Refused, as `ship` refuses options that do not go together.
describe("ship-hub refuses SQLite options next to a database URL", () => {
  const SECRET = "s".repeat(40);
  const URL_ = "postgres://ship:pw@127.0.0.1:1/ship";

  it.each([
    [["--db", "hub.db", "--database-url", URL_], {}, /^ship-hub: --db cannot be used with --database-url/],
    [
      ["--data-dir", "data"],
      { SHIP_HUB_DATABASE_URL: URL_ },
      /^ship-hub: --data-dir cannot be used with SHIP_HUB_DATABASE_URL/,
    ],
  ])("serve %j: exit 2 naming both, nothing created", async (args, env, message) => {
    for (const command of [
      ["serve", "--port", "0"],
      ["token", "list"],
    ]) {
      const { code, stderr } = await hub([...command, ...args], { SHIP_HUB_SECRET: SECRET, ...env });
      expect(code, stderr).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(message);
      expect(stderr).not.toContain("pw");
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("hub.toml's db next to its database_url is refused naming the key; its data_dir is allowed", async () => {
    await writeFile(join(dir, "hub.toml"), `db = "hub.db"\ndatabase_url = "${URL_}"\n`);
    const refused = await hub(["serve", "--port", "0", "--config", "hub.toml"], { SHIP_HUB_SECRET: SECRET });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(
      /^ship-hub: hub.toml:1:1 db: cannot be used with database_url in hub.toml/,
    );
    // data_dir beside database_url (one hub.toml for both modes) goes on to the database itself.
    await writeFile(join(dir, "hub.toml"), `data_dir = "data"\ndatabase_url = "${URL_}"\n`);
    const allowed = await hub(["serve", "--port", "0", "--config", "hub.toml"], { SHIP_HUB_SECRET: SECRET });
    expect(allowed.code, allowed.stderr).toBe(1);
    expect(allowed.stderr).toContain("ECONNREFUSED");
    expect(await readdir(dir)).toEqual(["hub.toml"]);
  });
});

describe("ship-hub token list/revoke sign nothing", () => {
  it("in cluster mode they go to the database without demanding the shared secret", async () => {
    const port = await freePort();
    for (const args of [
      ["token", "list"],
      ["token", "revoke", "some-jti"],
    ]) {
      const { code, stderr } = await hub([
        ...args,
        "--database-url",
        `postgres://ship@127.0.0.1:${port}/ship`,
      ]);
      // Not the secret rule (exit 2): the command went on to the (unreachable) database.
      expect(code, stderr).toBe(1);
      expect(stderr).toContain("ECONNREFUSED");
      expect(stderr).not.toContain("JWT secret");
    }
    // token create signs, so it still needs the secret.
    const create = await hub([
      "token",
      "create",
      "--role",
      "ci",
      "--database-url",
      `postgres://ship@127.0.0.1:${port}/ship`,
    ]);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain("must share their JWT secret");
    expect(await readdir(dir)).toEqual([]);
  });
});
