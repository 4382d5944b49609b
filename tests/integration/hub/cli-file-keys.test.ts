/**
 * Every path an operator gives ship-hub (hub.toml's jwt_secret_file, db, data_dir and the --db,
 * --data-dir flags): missing, a directory, empty or too short is exit 2 with one line naming the
 * key or flag and the file, never Node's bare "ENOENT: …, open '…'", and nothing is created.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import jwt from "jsonwebtoken";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../../../hub/store/migrations.js";
import { asRoot, chownToNobody, NOBODY } from "../../support/as-nobody.js";
import { HUB_BIN, requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";

let dir: string;
beforeAll(requireHubBin);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-files-"));
  await mkdir(join(dir, "a-dir"));
  await writeFile(join(dir, "empty"), "");
  await writeFile(join(dir, "short"), "only-20-bytes-secret\n");
  await writeFile(join(dir, "a-file"), "this is not a SQLite database\n".repeat(20));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const before = ["a-dir", "a-file", "empty", "hub.toml", "short"];
const hub = (args: string[]) => runHubCli(dir, args);

/** `serve` and `token create` with ./hub.toml: exit 2, one line matching `message`, nothing created. */
async function serveAndTokenRefuse(message: RegExp): Promise<void> {
  // Side by side: each is a ship-hub start of its own, and nothing either may leave is there after both.
  const runs = await Promise.all(
    [
      ["serve", "--port", "0"],
      ["token", "create", "--role", "ci"],
    ].map((args) => hub([...args, "--config", "hub.toml"])),
  );
  for (const { code, stderr } of runs) {
    expect(code, stderr).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  }
  expect((await readdir(dir)).sort()).toEqual(before);
}

describe("ship-hub: hub.toml jwt_secret_file that cannot be used", () => {
  it.each([
    [
      "/nonexistent/secret",
      /hub\.toml:2:1 jwt_secret_file: cannot read \/nonexistent\/secret: no such file or directory \(ENOENT\)$/,
    ],
    // Relative to hub.toml's directory, and named so.
    ["a-dir", /hub\.toml:2:1 jwt_secret_file: cannot read \/\S+\/a-dir: is a directory \(EISDIR\)$/],
    ["empty", /hub\.toml:2:1 jwt_secret_file: \/\S+\/empty must hold at least 32 bytes, found 0 \(empty\)$/],
    ["short", /hub\.toml:2:1 jwt_secret_file: \/\S+\/short must hold at least 32 bytes, found 20$/],
  ])(
    "%s: serve and token create exit 2 naming the key and the file; no data dir is created",
    async (file, message) => {
      await writeFile(join(dir, "hub.toml"), `data_dir = "data"\njwt_secret_file = "${file}"\n`);
      await serveAndTokenRefuse(message);
    },
  );
});

describe("ship-hub: SHIP_HUB_SECRET that is white space", () => {
  it.each([
    [" ".repeat(40), 0, " (only white space)"],
    [`${"k".repeat(20)}${" ".repeat(20)}\n`, 20, ""],
  ])("%j: serve and token create exit 2 as for such a file, nothing created", async (secret, found, note) => {
    // Taken as a secret of 40 bytes, while a jwt_secret_file holding the same is refused as empty.
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\n');
    const runs = await Promise.all(
      [
        ["serve", "--port", "0"],
        ["token", "create", "--role", "ci"],
      ].map((args) => runHubCli(dir, [...args, "--config", "hub.toml"], { SHIP_HUB_SECRET: secret })),
    );
    for (const { code, stderr } of runs)
      expect({ code, stderr: stderr.trim() }).toEqual({
        code: 2,
        stderr: `ship-hub: SHIP_HUB_SECRET must hold at least 32 bytes besides white space at its ends, found ${found}${note}`,
      });
    expect((await readdir(dir)).sort()).toEqual(before);
  });
});

describe("ship-hub: relative paths in hub.toml", () => {
  it("are relative to hub.toml's directory, not where ship-hub is started: token create from another directory signs with the serving hub's secret", async () => {
    // The unit starts the hub in /, an operator runs token create from a shell elsewhere: resolved
    // against the working directory, each used a data dir (and secret) of its own, and the hub
    // refused every token the operator made.
    const elsewhere = join(dir, "a-dir");
    const secret = "0123456789abcdef0123456789abcdef-shared";
    await writeFile(join(dir, "hub-secret"), `${secret}\n`, { mode: 0o600 });
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\njwt_secret_file = "hub-secret"\n', {
      mode: 0o600,
    });
    const created = await runHubCli(elsewhere, [
      "token",
      "create",
      "--role",
      "ci",
      "--config",
      join(dir, "hub.toml"),
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(jwt.verify(created.stdout.trim(), secret)).toMatchObject({ role: "ci" });
    expect(await readdir(elsewhere)).toEqual([]);
    // Its data dir is hub.toml's `data`, which serve from hub.toml's directory uses too.
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\n', { mode: 0o600 });
    const own = await runHubCli(elsewhere, [
      "token",
      "create",
      "--role",
      "ci",
      "--config",
      join(dir, "hub.toml"),
    ]);
    expect(own.code, own.stderr).toBe(0);
    expect(await readdir(elsewhere)).toEqual([]);
    const dataSecret = (await readFile(join(dir, "data", "secret"), "utf8")).trim();
    expect(jwt.verify(own.stdout.trim(), dataSecret)).toMatchObject({ role: "ci" });
  });
});

describe("ship-hub: a JWT secret file other users may read", () => {
  it("token create warns (anyone who reads it can make tokens), and stop warning once it is 600", async () => {
    const secret = join(dir, "secret");
    await writeFile(secret, `${"s".repeat(48)}\n`, { mode: 0o644 });
    await chmod(secret, 0o644);
    await writeFile(join(dir, "hub.toml"), `data_dir = "data"\njwt_secret_file = "${secret}"\n`);
    const shared = await hub(["token", "create", "--role", "ci", "--config", "hub.toml"]);
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toMatch(
      /warning: the JWT secret \S+secret is readable by other users \(mode 644\).*chmod 600/,
    );
    await chmod(secret, 0o600);
    const quiet = await hub(["token", "create", "--role", "ci", "--config", "hub.toml"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe("");
  });
});

describe("ship-hub: a hub.toml other users can write", () => {
  it("serve and token create exit 2 naming it and its mode (it names the JWT secret); nothing created", async () => {
    await writeFile(join(dir, "hub.toml"), 'data_dir = "data"\n');
    await chmod(join(dir, "hub.toml"), 0o664);
    const runs = await Promise.all(
      [
        ["serve", "--port", "0"],
        ["token", "create", "--role", "ci"],
      ].map((args) => hub([...args, "--config", "hub.toml"])),
    );
    for (const { code, stderr } of runs) {
      expect(code, stderr).toBe(2);
      expect(stderr.trim()).toBe(
        "ship-hub: hub.toml is writable by other users (mode 664): anyone who can write it can add a JWT secret of their own, and so tokens of any role; chmod go-w it",
      );
    }
    expect((await readdir(dir)).sort()).toEqual(before);
  });
});

describe("ship-hub: hub.toml holding a database password that other users may read", () => {
  it("warns naming hub.toml and database_url, never the password; quiet once it is 600", async () => {
    const secret = join(dir, "secret");
    await writeFile(secret, `${"s".repeat(48)}\n`, { mode: 0o600 });
    const toml = join(dir, "hub.toml");
    await writeFile(
      toml,
      `database_url = "postgres://ship:pg-pass-123@127.0.0.1:1/ship"\njwt_secret_file = "${secret}"\n`,
    );
    await chmod(toml, 0o644);
    const shared = await hub(["token", "create", "--role", "ci", "--config", "hub.toml"]);
    expect(shared.stderr).toContain(
      "ship-hub: warning: hub.toml database_url: holds a password but hub.toml is readable by other users (mode 644); chmod 600 it",
    );
    expect(shared.stderr + shared.stdout).not.toContain("pg-pass-123");
    await chmod(toml, 0o600);
    const quiet = await hub(["token", "create", "--role", "ci", "--config", "hub.toml"]);
    expect(quiet.stderr).not.toContain("warning");
    expect(quiet.stderr + quiet.stdout).not.toContain("pg-pass-123");
  });
});

describe("ship-hub: a data dir or SQLite file that cannot be used", () => {
  it.each([
    [["--data-dir", "a-file"], /^ship-hub: --data-dir a-file is not a directory$/],
    [["--db", "a-dir"], /^ship-hub: --db a-dir is a directory$/],
    [["--db", "nowhere/hub.db"], /^ship-hub: --db the directory of nowhere\/hub.db does not exist$/],
    // Refused before the data dir and its secret are made, as the others.
    [
      ["--db", "a-file"],
      /^ship-hub: --db a-file is not a SQLite database \(it holds other data\): name the hub's database, or a new or empty file$/,
    ],
    // SQLite's bare "disk I/O error", exit 1, after the data dir was made.
    [["--db", "a-fifo"], /^ship-hub: --db a-fifo is a pipe, not a SQLite database file$/],
    [["--db", "/dev/null"], /^ship-hub: --db \/dev\/null is a device, not a SQLite database file$/],
  ])(
    "serve, token create and token list %j: exit 2 naming the flag, nothing created",
    async (args, message) => {
      await writeFile(join(dir, "hub.toml"), "");
      if (args.includes("a-fifo")) execFileSync("mkfifo", [join(dir, "a-fifo")]);
      const listed = (await readdir(dir)).sort();
      const dataDir = args.includes("--data-dir") ? [] : ["--data-dir", "data"];
      const runs = await Promise.all(
        [
          ["serve", "--port", "0"],
          ["token", "create", "--role", "ci"],
          ["token", "list"],
        ].map((command) => hub([...command, ...dataDir, ...args])),
      );
      for (const { code, stderr } of runs) {
        expect(code, stderr).toBe(2);
        expect(stderr.trim()).toMatch(message);
      }
      expect((await readdir(dir)).sort()).toEqual(listed);
    },
  );

  // Another application's database was given the hub's fourteen tables, by `token list` too, and a
  // newer hub's schema was "database schema N is newer than this hub", exit 1, naming no flag.
  it("another application's SQLite database or a newer hub's: exit 2 naming flag or key, the file untouched", async () => {
    const made = await hub(["token", "create", "--role", "ci", "--data-dir", "newer"]);
    expect(made.code, made.stderr).toBe(0);
    const newer = new Database(join(dir, "newer", "hub.db"));
    newer.prepare("INSERT INTO schema_version (version) VALUES (999)").run();
    newer.close();
    const other = new Database(join(dir, "other.db"));
    other.exec("CREATE TABLE dashboards (id INTEGER); CREATE TABLE users (name TEXT)");
    other.close();
    await writeFile(join(dir, "hub.toml"), 'db = "other.db"\n');
    const bytes = async () =>
      Promise.all(["other.db", "newer/hub.db"].map((f) => readFile(join(dir, f), "hex")));
    const kept = await bytes();
    // newer/hub.db is in WAL mode: reading it must leave no -wal or -shm beside it.
    const listed = [(await readdir(dir)).sort(), (await readdir(join(dir, "newer"))).sort()];
    const otherLine =
      "other.db holds tables that are not ship-hub's (dashboards, users), so the hub wrote nothing there: name the hub's database, or a new or empty file";
    const newerLine = `holds hub schema 999, newer than this ship-hub's (${migrations.length}): a newer ship-hub migrated it; upgrade ship-hub here`;
    const cases: [string[], string][] = [
      [["--data-dir", "data", "--db", "other.db"], `ship-hub: --db ${otherLine}`],
      [["--data-dir", "data", "--config", "hub.toml"], `ship-hub: hub.toml:1:1 db: ${join(dir, otherLine)}`],
      [["--data-dir", "data", "--db", "newer/hub.db"], `ship-hub: --db newer/hub.db ${newerLine}`],
      [["--data-dir", "newer"], `ship-hub: --data-dir newer/hub.db ${newerLine}`],
    ];
    const commands = [
      ["serve", "--port", "0"],
      ["token", "create", "--role", "ci"],
      ["token", "list"],
    ];
    const runs = await Promise.all(
      cases.flatMap(([args, line]) =>
        commands.map(async (command) => ({ line, run: await hub([...command, ...args]) })),
      ),
    );
    for (const { line, run } of runs) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(line);
    }
    expect([(await readdir(dir)).sort(), (await readdir(join(dir, "newer"))).sort()]).toEqual(listed);
    expect(await bytes()).toEqual(kept);
  });

  it.each([
    // Node's recursive mkdir never returned in /proc (ENOENT under a parent that is there): a
    // silent hang. /sys's EPERM and a file on the way were "cannot create directory …", exit 1.
    [
      ["--data-dir", "/proc/ship-hub-test/data"],
      "ship-hub: --data-dir /proc/ship-hub-test/data cannot be created: /proc takes no new entries (a kernel filesystem such as /proc or /sys)",
    ],
    [
      ["--data-dir", "/sys/ship-hub-test"],
      /^ship-hub: --data-dir .*\/sys\/ship-hub-test.*\((EPERM|EACCES)\)\)?$/,
    ],
    [
      ["--data-dir", "a-file/data"],
      "ship-hub: --data-dir cannot create the data dir a-file/data: a component of the path is not a directory (ENOTDIR)",
    ],
  ])(
    "serve and token create %j, a data dir that cannot be made: exit 2 naming the flag, at once",
    async (args, message) => {
      await writeFile(join(dir, "hub.toml"), "");
      const listed = (await readdir(dir)).sort();
      const runs = await Promise.all(
        [
          ["serve", "--port", "0"],
          ["token", "create", "--role", "ci"],
        ].map((command) => runHubCli(dir, [...command, ...args], {}, 15_000)),
      );
      for (const { code, stderr } of runs) {
        expect(code, stderr).toBe(2);
        if (typeof message === "string") expect(stderr.trim()).toBe(message);
        else expect(stderr.trim()).toMatch(message);
      }
      expect((await readdir(dir)).sort()).toEqual(listed);
    },
  );

  it.each([
    // Refused only after the data dir and its secret were made (--db), or after a token was issued
    // and revoked in the data dir (--out): root passes every mode check, and /proc or /sys refuse.
    [
      ["serve", "--port", "0", "--data-dir", "data", "--db", "/proc/ship-hub-test.db"],
      "ship-hub: --db /proc/ship-hub-test.db cannot be created: /proc takes no new entries (a kernel filesystem such as /proc or /sys)",
    ],
    [
      ["token", "create", "--role", "ci", "--data-dir", "data", "--out", "/proc/ship-hub-test"],
      "ship-hub: --out /proc/ship-hub-test cannot be written: /proc takes no new entries (a kernel filesystem such as /proc or /sys)",
    ],
  ])("%j, a file that cannot be made: exit 2 naming the flag, nothing created", async (args, message) => {
    const listed = (await readdir(dir)).sort();
    const { code, stderr } = await runHubCli(dir, args, {}, 15_000);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 2, stderr: message });
    expect((await readdir(dir)).sort()).toEqual(listed);
  });

  it("hub.toml's data_dir in /proc is named by its key", async () => {
    await writeFile(join(dir, "hub.toml"), 'data_dir = "/proc/ship-hub-test"\n');
    const { code, stderr } = await runHubCli(
      dir,
      ["serve", "--port", "0", "--config", "hub.toml"],
      {},
      15_000,
    );
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr:
        "ship-hub: hub.toml:1:1 data_dir: /proc/ship-hub-test cannot be created: /proc takes no new entries (a kernel filesystem such as /proc or /sys)",
    });
  });

  it.skipIf(!asRoot)(
    "a data dir or a --db directory the hub's user may not create or write in: exit 2 naming the flag, nothing created",
    async () => {
      // Run as nobody, as a hub under its own user: root passes every mode. The data dir's was
      // "cannot create directory …: permission denied" (exit 1, no flag named); the --db's was
      // refused only after the data dir and its secret were made.
      await mkdir(join(dir, "ro"));
      await chownToNobody(dir);
      await chmod(join(dir, "ro"), 0o555);
      const listed = (await readdir(dir)).sort();
      const asNobody = (args: string[]) => runHubCli(dir, args, {}, 30_000, NOBODY);
      const cases = [
        [
          ["--data-dir", "ro/data"],
          `ship-hub: --data-dir ${join(dir, "ro/data")} does not exist, and nobody may not create it in ${join(dir, "ro")} (owner uid 65534, mode 555): create it as root and chown it to nobody (permission denied (EACCES))`,
        ],
        [
          ["--data-dir", "data", "--db", "ro/hub.db"],
          `ship-hub: --db ro/hub.db: ${join(dir, "ro")}: nobody may not read, write and enter it (owner uid 65534, mode 555): chown -R nobody ${join(dir, "ro")}, as the install steps do (permission denied (EACCES))`,
        ],
      ] as const;
      const runs = await Promise.all(
        cases.flatMap(([args]) => [
          asNobody(["serve", "--port", "0", ...args]),
          asNobody(["token", "create", "--role", "ci", ...args]),
        ]),
      );
      for (const [i, { code, stderr }] of runs.entries()) {
        expect({ code, stderr: stderr.trim() }).toEqual({ code: 2, stderr: cases[Math.floor(i / 2)]?.[1] });
      }
      expect((await readdir(dir)).sort()).toEqual(listed);
    },
  );

  it("hub.toml's data_dir and db are named by their key", async () => {
    await writeFile(join(dir, "hub.toml"), 'data_dir = "a-file"\n');
    const dataDir = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(dataDir.code).toBe(2);
    expect(dataDir.stderr.trim()).toBe(
      `ship-hub: hub.toml:1:1 data_dir: ${join(dir, "a-file")} is not a directory`,
    );
    await writeFile(join(dir, "hub.toml"), 'db = "a-dir"\n');
    const db = await hub(["serve", "--port", "0", "--config", "hub.toml"]);
    expect(db.code).toBe(2);
    expect(db.stderr.trim()).toBe(`ship-hub: hub.toml:1:1 db: ${join(dir, "a-dir")} is a directory`);
  });

  it("token list and revoke on a data dir without a hub database refuse instead of creating one", async () => {
    await writeFile(join(dir, "hub.toml"), "");
    const runs = await Promise.all(
      [
        ["token", "list"],
        ["token", "revoke", "jti"],
      ].map((args) => hub([...args, "--data-dir", "data"])),
    );
    for (const { code, stderr } of runs) {
      expect(code).toBe(2);
      expect(stderr.trim()).toBe(
        "ship-hub: --data-dir no hub database at data/hub.db: give the serving hub's --config or --data-dir",
      );
    }
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it("token create with a bad --ttl, an agent token without --agent, --agent on another role or an agent id the channel refuses leaves nothing behind", async () => {
    await writeFile(join(dir, "hub.toml"), "");
    const cases = [
      [["--role", "ci", "--ttl", "0d"], "ship-hub: --ttl must be between 1 second and 366 days"],
      [["--role", "ci", "--ttl", "400d"], "ship-hub: --ttl must be between 1 second and 366 days"],
      [["--role", "agent"], "ship-hub: --role agent needs --agent ID"],
      // Not dropped: the token would read as agent h1's in the audit log while it is an operator's.
      [
        ["--role", "operator", "--agent", "h1"],
        "ship-hub: --agent applies to --role agent only: an operator token names no agent",
      ],
      // The agent channel's hello would refuse these ids: no token is issued for them.
      [
        ["--role", "agent", "--agent", "web 1"],
        `ship-hub: --agent "web 1" must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit`,
      ],
      [
        ["--role", "agent", "--agent", "h".repeat(201)],
        `ship-hub: --agent "${"h".repeat(40)}…" is 201 characters long: must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit`,
      ],
      // The name travels in the token: 20,000 characters made one every request of which the hub
      // answered 431 (over Node's 16 KB of request headers).
      [
        ["--role", "operator", "--name", "n".repeat(20_000)],
        "ship-hub: --name is 20000 characters long: must be at most 200 (it travels inside the token, and the hub refuses a request whose headers pass 16 KB)",
      ],
    ] as const;
    const runs = await Promise.all(
      cases.map(([args]) => hub(["token", "create", "--data-dir", "data", ...args])),
    );
    for (const [i, { code, stderr }] of runs.entries()) {
      expect(code).toBe(2);
      expect(stderr.trim()).toBe(cases[i]?.[1]);
    }
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it("a hub.toml that is missing or a directory is named with the reason in words", async () => {
    const configs = ["nope.toml", "a-dir"];
    const runs = await Promise.all(configs.map((config) => hub(["serve", "--config", config])));
    for (const [i, { code, stderr }] of runs.entries()) {
      const config = configs[i];
      expect(code).toBe(2);
      expect(stderr.trim()).toMatch(
        new RegExp(
          `^ship-hub: ${config} cannot read \\(${dir}/${config}\\): (no such file or directory \\(ENOENT\\)|is a directory \\(EISDIR\\))$`,
        ),
      );
    }
  });

  it.each([
    [
      "Latin-1",
      Buffer.from('port = 0\n# café\ndata_dir = "data-\xe9"\n', "latin1"),
      /^ship-hub: hub\.toml:2:6 holds a byte that is not UTF-8 here \(a file saved as Latin-1\?\): save it as UTF-8/,
    ],
    [
      "UTF-16",
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('data_dir = "data"\n', "utf16le")]),
      /^ship-hub: hub\.toml:1:1 is UTF-16 text: save it as UTF-8/,
    ],
  ])(
    "a %s hub.toml: serve and token create exit 2 naming the file and where; no data dir made",
    async (_, bytes, message) => {
      // Read as UTF-8 whatever it held, the Latin-1 `é` became U+FFFD: the hub made and served a
      // second, empty data directory named `data-�`.
      await writeFile(join(dir, "hub.toml"), bytes, { mode: 0o600 });
      await serveAndTokenRefuse(message);
    },
  );
});

describe("ship-hub: a hub.toml far larger than any config", () => {
  it("serve and token create exit 2 naming the file and the bound, having read no more than it", async () => {
    // Read whole, `--config /dev/zero` or a log file named by mistake ran until Node gave up.
    await writeFile(join(dir, "hub.toml"), `port = 0\n${"# padding\n".repeat(1_700_000)}`, { mode: 0o600 });
    await serveAndTokenRefuse(
      /^ship-hub: hub\.toml is larger than 16 MiB \(16777216 bytes\), the most ship reads of a config file$/,
    );
  });
});

describe("ship-hub: empty or malformed flag values", () => {
  it.each([
    [["token", "revoke", ""], "ship-hub: <jti> is empty: give it a value"],
    [["token", "create", "--role", "ci", "--ttl", ""], "ship-hub: --ttl is empty: give it a value"],
    [["serve", "--config", ""], "ship-hub: --config is empty: give it a value"],
    [["serve", "--port", ""], "ship-hub: --port is empty: give it a value"],
    [["serve", "--port", "http"], 'ship-hub: --port must be a whole number from 0 to 65535, got "http"'],
    [["serve", "--port", "99999"], 'ship-hub: --port must be a whole number from 0 to 65535, got "99999"'],
    [["rollout", "show", ""], "ship-hub: <id> is empty: give it a value"],
    // A one-value flag given twice: commander kept the last without a word.
    [
      ["serve", "--port", "8080", "--port", "9090"],
      'ship-hub: --port is given more than once ("8080", then "9090"): it takes one value; give it once',
    ],
    [
      ["rollout", "abort", "r1", "--from-wave", "1", "--from-wave", "2"],
      'ship-hub: --from-wave is given more than once ("1", then "2"): it takes one value; give it once',
    ],
  ])("%j: exit 2, one line naming it, nothing created", async (args, message) => {
    await writeFile(join(dir, "hub.toml"), "");
    const { code, stderr } = await hub([...args, ...(args[0] === "rollout" ? [] : ["--data-dir", "data"])]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(message);
    expect((await readdir(dir)).sort()).toEqual(before);
  });
});

// The remote commands (rollout, agents) read an operator token and a hub URL.
describe("ship-hub remote commands: token and hub URL", () => {
  const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3BlcmF0b3IifQ.c2lnbmF0dXJl";

  it.each([
    [
      ["--token-file", "nope.token"],
      "ship-hub: --token-file cannot read nope.token: no such file or directory (ENOENT)",
      2,
    ],
    [["--token-file", "empty"], "ship-hub: --token-file empty is empty", 2],
    // A hub.toml with a database password given by mistake: refused without quoting it.
    [
      ["--token-file", "hub.toml"],
      "ship-hub: --token-file hub.toml does not hold a token (one JWT, as `ship-hub token create` prints it)",
      2,
    ],
    [
      ["--hub", "hub.example.com", "--token", TOKEN],
      'ship-hub: --hub "hub.example.com" is not an http:// or https:// URL (e.g. https://hub.example.com:8080)',
      2,
    ],
    [
      ["--hub", "http://127.0.0.1:99999", "--token", TOKEN],
      'ship-hub: --hub "http://127.0.0.1:99999" has port 99999, over 65535',
      2,
    ],
    // The path ship adds went into the query or fragment: the hub's root page answered for the API.
    [
      ["--hub", "http://127.0.0.1:9/?x=1", "--token", TOKEN],
      'ship-hub: --hub "http://127.0.0.1:9/?x=1" must be the hub\'s address without a ?query or #fragment (ship adds /api/v1/… to its path)',
      2,
    ],
    [
      ["--hub", "http://127.0.0.1:9#top", "--token", TOKEN],
      'ship-hub: --hub "http://127.0.0.1:9#top" must be the hub\'s address without a ?query or #fragment (ship adds /api/v1/… to its path)',
      2,
    ],
    // The API's address copied in: every command was "hub answered 404: no route GET /api/v1/api/v1/…".
    [
      ["--hub", "http://127.0.0.1:9/api/v1/", "--token", TOKEN],
      'ship-hub: --hub "http://127.0.0.1:9/api/v1/" must be the hub\'s address without /api/v1 (ship adds /api/v1/… to its path)',
      2,
    ],
  ])("agents %j: exit 2, one line naming the flag", async (args, message, exitCode) => {
    await writeFile(join(dir, "hub.toml"), 'database_url = "postgres://ship:hunter2@db/ship"\n');
    const { code, stderr } = await hub(["agents", ...args]);
    expect(code).toBe(exitCode);
    expect(stderr.trim()).toBe(message);
    expect(stderr).not.toContain("hunter2");
  });

  // Each flag beat its variable without a word: a token or hub left in the shell, or a unit's
  // Environment=, was passed over and the operator could not tell which one a command used.
  it("a flag given with its variable wins and says so, never quoting a token or a URL", async () => {
    await writeFile(join(dir, "hub.toml"), "");
    await writeFile(join(dir, "op.token"), `${TOKEN}\n`);
    const port = await freePort();
    const other = TOKEN.replace(/.$/, "x");
    const remote = ["rollout", "list", "--hub", `http://127.0.0.1:${port}`, "--token-file", "op.token"];
    const both = await runHubCli(dir, remote, { SHIP_HUB_URL: "http://127.0.0.1:9", SHIP_HUB_TOKEN: other });
    expect(both.code).toBe(1);
    expect(both.stderr.trim().split("\n")).toEqual([
      "warning: --hub is used; SHIP_HUB_URL, also set, is ignored",
      "warning: --token-file is used; SHIP_HUB_TOKEN, also set, is ignored",
      expect.stringMatching(/^ship-hub: cannot reach the hub at /),
    ]);
    expect(both.stderr).not.toContain(other);
    // The same token both ways is no news.
    const same = await runHubCli(dir, remote, { SHIP_HUB_TOKEN: TOKEN });
    expect(same.stderr.trim()).toMatch(/^ship-hub: cannot reach the hub at [^\n]*$/);
    const url = `postgres://ship@127.0.0.1:${port}/ship`;
    const database = await runHubCli(dir, ["token", "list", "--config", "hub.toml", "--database-url", url], {
      SHIP_HUB_DATABASE_URL: "postgres://ship:hunter2@127.0.0.1:9/other",
      SHIP_HUB_SECRET: "s".repeat(40),
    });
    expect(database.code).toBe(1);
    expect(database.stderr.trim().split("\n")).toEqual([
      "ship-hub: warning: --database-url is used; SHIP_HUB_DATABASE_URL, also set, is ignored",
      expect.stringMatching(/^ship-hub: cannot use PostgreSQL at .* from --database-url: /),
    ]);
    expect(database.stderr).not.toContain("hunter2");
  });

  it("an unreachable hub is a failure (exit 1) naming the reason, not bad input", async () => {
    await writeFile(join(dir, "hub.toml"), "");
    const port = await freePort();
    const { code, stderr } = await runHubCli(dir, ["rollout", "list", "--hub", `http://127.0.0.1:${port}`], {
      SHIP_HUB_TOKEN: TOKEN,
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      new RegExp(`^ship-hub: cannot reach the hub at http://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
  });
});

// A real HTTP peer standing in for the hub's API: what is under test is how the CLI talks to it.
describe("ship-hub remote commands: the hub's port and its redirects", () => {
  let api: Server;
  let seen: string[] = [];
  // Ports fetch refuses as "bad port" (browsers block them); the first free one on loopback.
  const BLOCKED = [6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080, 6566, 5060, 5061, 4190, 3659, 6000];
  let port = 0;
  beforeAll(async () => {
    api = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/api/v1/agents") return void res.end(JSON.stringify({ agents: [], fleet: 0 }));
      res.writeHead(301, { location: "https://hub.example.com/api/v1/agents/a1/forget" }).end();
    });
    for (const candidate of BLOCKED) {
      const bound = await new Promise<boolean>((resolve) => {
        api.once("error", () => resolve(false));
        api.listen(candidate, "127.0.0.1", () => resolve(true));
      });
      if (bound) {
        port = candidate;
        break;
      }
    }
  });
  afterAll(async () => {
    api.closeAllConnections();
    await new Promise((r) => api.close(r));
  });
  beforeEach(() => {
    seen = [];
  });
  const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3BlcmF0b3IifQ.c2lnbmF0dXJl";

  it('a hub on a port browsers block (6000, 6665, 10080, …) is reached: it said only "bad port"', async () => {
    expect(port, "no blocked port free on loopback").toBeGreaterThan(0);
    const { code, stdout, stderr } = await runHubCli(
      dir,
      ["agents", "--json", "--hub", `http://127.0.0.1:${port}`],
      { SHIP_HUB_TOKEN: TOKEN },
    );
    expect(stderr).not.toContain("bad port");
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual([]);
    expect(seen).toEqual(["GET /api/v1/agents"]);
  });

  it("a redirect is said with where it goes, and a POST is not followed as a GET", async () => {
    const { code, stderr } = await runHubCli(
      dir,
      ["agents", "forget", "a1", "--hub", `http://127.0.0.1:${port}`],
      { SHIP_HUB_TOKEN: TOKEN },
    );
    expect(stderr).toBe(
      "ship-hub: hub answered 301, a redirect to https://hub.example.com/api/v1/agents/a1/forget: give the hub's own address in --hub (or SHIP_HUB_URL)\n",
    );
    expect(code).toBe(2);
    expect(seen).toEqual(["POST /api/v1/agents/a1/forget"]);
  });
});

describe("ship-hub serve: hub.toml values and the listen address", () => {
  it.each([
    ["prot = 8080\n", 'ship-hub: hub.toml:2:1 prot: unknown key "prot" (did you mean "port"?)'],
    ['port = "8080"\n', 'ship-hub: hub.toml:2:1 port: must be a number (got string "8080")'],
    // In ship.toml's words; zod's own were "must be at least 1 characters long".
    ['host = ""\n', "ship-hub: hub.toml:2:1 host: must not be empty"],
    ['jwt_secret_file = ""\n', "ship-hub: hub.toml:2:1 jwt_secret_file: must not be empty"],
    [
      'host = "0.0.0.0.1"\n',
      'ship-hub: hub.toml:2:1 host: cannot listen on "0.0.0.0.1": no such host (ENOTFOUND)',
    ],
    [
      'host = "10.9.9.9"\n',
      'ship-hub: hub.toml:2:1 host: cannot listen on "10.9.9.9": is not an address of this machine',
    ],
  ])("%j: exit 2, one line naming the key, nothing created", async (toml, message) => {
    await writeFile(join(dir, "hub.toml"), `data_dir = "data"\n${toml}`);
    const { code, stderr } = await hub(["serve", "--config", "hub.toml", "--port", "0"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(message);
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  // It made the data dir (hub.db, secret) first, then said "address already in use", exit 1.
  it("a port another process holds: exit 2 naming the key or flag, nothing created", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    const held = `cannot listen on 127.0.0.1:${port}: another process holds it (ss -ltnp 'sport = :${port}' shows which); stop it or choose another port`;
    try {
      await writeFile(join(dir, "hub.toml"), `data_dir = "data"\nport = ${port}\n`);
      const runs = await Promise.all([
        hub(["serve", "--config", "hub.toml"]),
        hub(["serve", "--data-dir", "data", "--port", String(port)]),
      ]);
      expect(runs.map(({ code, stderr }) => [code, stderr])).toEqual([
        [2, `ship-hub: hub.toml:2:1 port: ${held}\n`],
        [2, `ship-hub: --port ${held}\n`],
      ]);
      expect((await readdir(dir)).sort()).toEqual(before);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe("ship-hub token create --out FILE", () => {
  it("writes the token to a new file of mode 600 and prints only its jti; an existing file or a missing directory is exit 2 with nothing issued", async () => {
    // Checked before anything is made: no data dir, no token.
    const nowhere = await hub([
      "token",
      "create",
      "--role",
      "ci",
      "--data-dir",
      "data",
      "--out",
      "no-dir/ci.token",
    ]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toBe(
      `ship-hub: --out no-dir/ci.token cannot be written: ${join(dir, "no-dir")}: no such file or directory (ENOENT)\n`,
    );
    expect(await readdir(dir)).not.toContain("data");

    // The token went to stdout only: through the terminal, or the shell's history with `> file`.
    const made = await hub(["token", "create", "--role", "ci", "--data-dir", "data", "--out", "ci.token"]);
    expect(made.code, made.stderr).toBe(0);
    const jti = /^wrote the ci token to ci\.token \(mode 600\); its jti: (\S+)\n$/.exec(made.stdout)?.[1];
    expect(jti, made.stdout).toBeDefined();
    const written = await readFile(join(dir, "ci.token"), "utf8");
    expect(written).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect((await stat(join(dir, "ci.token"))).mode & 0o777).toBe(0o600);

    // Never replaced (a slip, `--out hub.toml`, would have destroyed that file).
    const again = await hub(["token", "create", "--role", "ci", "--data-dir", "data", "--out", "ci.token"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(
      "ship-hub: --out ci.token exists: ship-hub never replaces a file with a token; remove it first, or give a new path\n",
    );
    expect(await readFile(join(dir, "ci.token"), "utf8")).toBe(written);
    const listed = await hub(["token", "list", "--data-dir", "data", "--json"]);
    expect((JSON.parse(listed.stdout) as { jti: string }[]).map((t) => t.jti)).toEqual([jti]);
  });
});

describe("ship-hub serve: hub.toml timings inside their range that a fleet cannot meet", () => {
  it("are warned of at start, one line per key naming hub.toml, the value and what it must exceed", async () => {
    await writeFile(
      join(dir, "hub.toml"),
      'data_dir = "data"\nprogress_timeout_seconds = 8\nping_interval_seconds = 0.001\noffline_timeout_seconds = 5\ntick_interval_seconds = 0.5\n',
      { mode: 0o600 },
    );
    const child = spawn(process.execPath, [HUB_BIN, "serve", "--port", "0"], {
      cwd: dir,
      env: {
        ...process.env,
        SHIP_HUB_DATABASE_URL: "",
        SHIP_HUB_SECRET: "",
        SHIP_HUB_CONFIG: join(dir, "hub.toml"),
      },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise((resolve) => child.on("close", resolve));
    try {
      await expect
        .poll(() => stderr.match(/hub\.toml \w+_seconds = /g)?.length ?? 0, { timeout: 15_000 })
        .toBe(3);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    const warned = stderr.split("\n").filter((l) => /hub\.toml \w+_seconds = /.test(l));
    const toml = join(dir, "hub.toml");
    expect(warned.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      `${toml} progress_timeout_seconds = 8 is under 60 s, twice the agent's 30 s "still working" signal: an update step that runs longer (a download, a migration) is timed out as stalled`,
      `${toml} ping_interval_seconds = 0.001 is under 1 s: every agent is pinged more than once a second, and one that pauses longer (GC, a loaded host, a slow link) is dropped`,
      `${toml} offline_timeout_seconds = 5 is under 60 s, the agent's longest wait between reconnects: an agent away for a hub restart or a network blip counts as failed`,
    ]);
    expect(warned.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([40, 40, 40]);
  });
});
