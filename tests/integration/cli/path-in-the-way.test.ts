/**
 * ship.toml paths an operator can get wrong before the run starts, met by real `ship` and `ship agent`
 * processes:
 * - a path under a file (a typo'd parent, `app_dir = "/srv/app.tar.gz/app"`): before, a state_file,
 *   lock_file or logging.file there was exit 1 "cannot create directory …: already exists (EEXIST)"
 *   naming no key, and an app_dir there failed at the apply with a bare ENOTDIR after the
 *   pre_update hooks ran;
 * - `ship agent` skipped the [general] path checks every other mode makes: a state_file that is a
 *   directory gave "recovery failed: EISDIR" and a daemon that ran on;
 * - a hub that cannot be reached logged "hub connection closed; reconnecting" with no reason, so a
 *   wrong port or host looked like a hub restart.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgentBriefly, runShip, SHIP_BIN } from "../../support/ship-cli.js";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-in-the-way-"));
  await mkdir(join(root, "release"));
  await writeFile(
    join(root, "release/update-manifest.yaml"),
    'version: "1.0.0"\nhooks:\n  pre_update: ["touch ../hook-ran"]\n',
  );
  await writeFile(join(root, "release/app.txt"), "v1\n");
  await writeFile(join(root, "afile"), "not a directory\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** ship.toml with `general` lines in [general] (state_file/backup_dir defaults unless given) and `rest` after the source. */
async function shipToml(general: Record<string, string>, appDir = `${root}/app`, rest = ""): Promise<string> {
  const keys = { state_file: `${root}/var/state.json`, backup_dir: `${root}/var/backups`, ...general };
  const lines = Object.entries(keys).map(([k, v]) => `${k} = "${v}"`);
  const file = join(root, "ship.toml");
  await writeFile(
    file,
    `[general]\n${lines.join("\n")}\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${appDir}"\n${rest}`,
  );
  return file;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0] ?? "";
}

describe("a ship.toml path under a file (real CLI)", () => {
  it.each([
    ["general.state_file", { state_file: "AFILE/state.json" }, undefined],
    ["general.backup_dir", { backup_dir: "AFILE/backups" }, undefined],
    ["general.work_dir", { work_dir: "AFILE/work/deeper" }, undefined],
    ["general.lock_file", { lock_file: "AFILE/ship.lock" }, undefined],
    ["sources.myapp.app_dir", {}, "AFILE/app"],
  ])(
    "%s: exit 2 naming the key and the file in the way, no hook run, nothing written",
    async (key, general, app) => {
      const resolved = Object.fromEntries(
        Object.entries(general).map(([k, v]) => [k, v.replace("AFILE", `${root}/afile`)]),
      );
      const file = await shipToml(resolved, app?.replace("AFILE", `${root}/afile`));
      const run = await runShip(["--config", file]);
      expect(run.code).toBe(2);
      expect(oneLine(run.stderr)).toMatch(
        new RegExp(
          `ship\\.toml:\\d+:\\d+ ${key.replaceAll(".", "\\.")}: \\S+ cannot be created: ${root}/afile is a file, not a directory$`,
        ),
      );
      expect((await readdir(root)).sort()).toEqual(["afile", "release", "ship.toml"]);
    },
  );

  it("a [general.logging] file under a file: the same, where it was 'already exists (EEXIST)'", async () => {
    const file = await shipToml({}, `${root}/app`, `\n[general.logging]\nfile = "${root}/afile/ship.log"\n`);
    const run = await runShip(["--config", file]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toBe(
      `ship: ${file}:12:1 general.logging.file: ${root}/afile/ship.log cannot be created: ${root}/afile is a file, not a directory`,
    );
    expect((await readdir(root)).sort()).toEqual(["afile", "release", "ship.toml"]);
  });
});

describe("ship agent: [general] paths are checked at start, as in every other mode (real CLI)", () => {
  const hub = (token: string) =>
    `\n[hub]\nurl = "http://127.0.0.1:1"\ntoken_file = "${token}"\nagent_id = "a1"\n`;

  it.each([
    ["general.state_file", { state_file: "ROOT/var" }, /ROOT\/var is a directory; it must be a file$/],
    ["general.backup_dir", { backup_dir: "ROOT/afile" }, /ROOT\/afile is a file; it must be a directory$/],
    [
      "general.backup_dir",
      { backup_dir: "ROOT/afile/b" },
      /cannot be created: ROOT\/afile is a file, not a directory$/,
    ],
  ])("%s %j: exit 2 naming the key before connecting", async (key, general, message) => {
    await mkdir(join(root, "var"));
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    const resolved = Object.fromEntries(
      Object.entries(general).map(([k, v]) => [k, v.replace("ROOT", root)]),
    );
    const file = await shipToml(resolved, `${root}/app`, hub(join(root, "hub.token")));
    const run = await runAgentBriefly(file);
    expect(run.code).toBe(2);
    const line = oneLine(run.stderr);
    expect(line).toMatch(new RegExp(`ship\\.toml:\\d+:\\d+ ${key.replaceAll(".", "\\.")}: `));
    expect(line).toMatch(new RegExp(message.source.replaceAll("ROOT", root)));
  });
});

describe("ship agent: a hub that cannot be reached (real CLI)", () => {
  /** Starts `ship agent` with `[hub] url = url`; returns its first reconnect log entry and the lines before. */
  async function firstReconnect(
    url: string,
    sourceKeys = "",
  ): Promise<{ msg: string; url: string; level: number; status?: number; before: string[] }> {
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    const file = await shipToml(
      {},
      `${root}/app`,
      `${sourceKeys}\n[hub]\nurl = "${url}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\n`,
    );
    const child = spawn(process.execPath, [SHIP_BIN, "agent", "--config", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reconnect line in:\n${output}`)), 20_000);
      const take = (chunk: Buffer) => {
        output += chunk.toString();
        const found = output.split("\n").find((l) => l.includes("reconnecting"));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout.on("data", take);
      child.stderr.on("data", take);
    }).finally(() => child.kill("SIGKILL"));
    const before = output.split("\n").slice(0, output.split("\n").indexOf(line));
    return { ...(JSON.parse(line) as { msg: string; url: string; level: number; status?: number }), before };
  }

  it("each reconnect line says why the connection failed", async () => {
    // A port that was just free: nothing listens there, so the connection is refused.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    const entry = await firstReconnect(`http://127.0.0.1:${port}`);
    expect(entry.msg).toBe("hub connection failed: connection refused (ECONNREFUSED); reconnecting");
    expect(entry.url).toBe(`ws://127.0.0.1:${port}/api/v1/agent`);
  });

  it.each([
    // Before: "write EPROTO 80…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…".
    [
      "an https:// url for a server that speaks http",
      (port: number) => `https://127.0.0.1:${port}`,
      "hub connection failed: TLS handshake failed: the server there does not speak TLS (an https:// [hub] url for an http:// hub?); reconnecting",
    ],
    // Before: "the hub refused the connection (404)" — a wrong path, not a refusal.
    [
      "a path where nothing takes agents",
      (port: number) => `http://127.0.0.1:${port}/wrong-prefix`,
      "hub connection failed: nothing takes agents at that address (404): check the path in [hub] url; reconnecting",
    ],
  ])("%s: the reconnect line says what is wrong with [hub] url", async (_what, url, expected) => {
    // A real HTTP server on loopback that is no hub: every request is a 404.
    const server = createHttpServer((_req, res) => {
      res.statusCode = 404;
      res.end("not found");
    });
    const port = await listening(server);
    try {
      expect((await firstReconnect(url(port))).msg).toBe(expected);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("no enabled source: a WARNING says the agent takes no hub releases, and how to give it some", async () => {
    // A port that was just free: the connection is refused, which ends the lines looked at.
    const server = createServer();
    const port = await listening(server);
    await new Promise((r) => server.close(r));
    const { before } = await firstReconnect(`http://127.0.0.1:${port}`, "enabled = false\n");
    // Before: nothing; the hub listed the agent with no apps and left it out of every rollout.
    const warnings = before
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((e) => e.level === 40);
    expect(warnings.map((e) => e.msg)).toEqual([
      `${root}/ship.toml has no enabled [sources.APP]: this agent announces no apps and takes no hub releases (add [sources.APP] with type = "hub" and app_dir for each app)`,
    ]);
  });

  it("a proxy that redirects http:// to https://: the reconnect line names the address to use", async () => {
    // As nginx's `return 301 https://$host$request_uri;` answers the agent's upgrade.
    const server = createHttpServer((req, res) => {
      res.writeHead(301, { location: `https://hub.example.com${req.url ?? "/"}` }).end();
    });
    const port = await listening(server);
    try {
      // Before: "… the server answered 301 instead of opening the agent channel; reconnecting".
      expect((await firstReconnect(`http://127.0.0.1:${port}`)).msg).toBe(
        "hub connection failed: the server redirects to https://hub.example.com (301): put that address in [hub] url (the agent follows no redirect); reconnecting",
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it.each([
    [
      "the hub's database is unreachable (503)",
      503,
      "the hub's database is unreachable; try again",
      "hub connection failed: the hub could not take the connection now (503: the hub's database is unreachable; try again); reconnecting",
    ],
    [
      "a proxy whose hub is down (502)",
      502,
      undefined,
      "hub connection failed: the hub could not take the connection now (502: the hub, or a proxy in front of it, is not working); reconnecting",
    ],
  ])(
    "%s: a WARNING that the hub cannot take it now, never 'refused' (that points at the token)",
    async (_what, status, reason, expected) => {
      // As the hub answers an upgrade it cannot check (hub/ws/agent-server.ts refuse()).
      const server = createHttpServer((_req, res) => {
        res.writeHead(status, reason === undefined ? {} : { "x-ship-refused": reason }).end();
      });
      const port = await listening(server);
      try {
        const { msg, level, status: said, before } = await firstReconnect(`http://127.0.0.1:${port}`);
        expect(msg).toBe(expected);
        // pino level 40: WARN, not ERROR (50); the status on that one line, no other line for it
        // (the answer's own line before the reconnect line made two per attempt).
        expect({ level, said }).toEqual({ level: 40, said: status });
        const answer = before.map((l) => JSON.parse(l) as { level: number; msg: string; status?: number });
        expect(answer.filter((e) => e.status === status || e.level >= 40)).toEqual([]);
        expect(before.join("\n")).not.toMatch(/refused/);
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    },
  );
});

/** The port `server` listens on, on loopback. */
function listening(
  server: ReturnType<typeof createHttpServer> | ReturnType<typeof createServer>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}
