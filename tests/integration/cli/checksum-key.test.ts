/**
 * A `checksum` no source can use — the seed's own placeholder "sha256:abc123...", "md5:…", a
 * relative path, an http URL for an SFTP source — was refused only once a download needed it. A
 * source whose server answered 304, whose archive kept its stat, or whose SFTP server was down ran
 * on with it (exit 0 "up to date", or exit 1 "connection refused"). Now every run and
 * --check-only refuse it before the source is asked anything: exit 2, one line naming ship.toml,
 * the key and the value. ship.toml itself still loads (the seed's example config holds the
 * placeholder).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const archive = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
    { path: "app.txt", body: "v1\n" },
  ]),
);
const sha256 = createHash("sha256").update(archive).digest("hex");
const etag = `"${sha256.slice(0, 16)}"`;

let root: string;
let server: TestServer;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-checksum-key-"));
  await writeFile(join(root, "app.tar.gz"), archive);
  server = await startHttpServer((req, res) => {
    if (req.url === "/app.tar.gz.sha256") return void res.writeHead(200).end(`${sha256}  app.tar.gz\n`);
    if (req.url !== "/app.tar.gz") return void res.writeHead(404).end();
    if (req.headers["if-none-match"] === etag) return void res.writeHead(304).end();
    res.writeHead(200, { etag, "content-length": archive.length }).end(archive);
  });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh app whose one source `s` is `lines`, installed once with a good checksum. */
async function installed(lines: (checksum: string) => string) {
  const dir = join(root, `case${++n}`);
  await mkdir(join(dir, "app"), { recursive: true });
  const config = join(dir, "ship.toml");
  const write = (checksum: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[sources.s]\napp_dir = "${dir}/app"\n${lines(checksum)}\n`,
      { mode: 0o600 },
    );
  await write(`sha256:${sha256}`);
  const first = await runShip(["--config", config]);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  return { config, write, app: join(dir, "app") };
}

const http = (checksum: string) =>
  `type = "http"\nurl = "${server.url}/app.tar.gz"\nchecksum = "${checksum}"`;
const local = (checksum: string) => `type = "local"\npath = "${root}/app.tar.gz"\nchecksum = "${checksum}"`;

describe("a checksum no source can use", () => {
  it.each([
    [
      "http, the seed's placeholder",
      http,
      "sha256:abc123...",
      "the http(s) URL or absolute path of a .sha256 file",
    ],
    [
      "http, another algorithm",
      http,
      "md5:0cc175b9c0f1b6a831c399e269772661",
      "the http(s) URL or absolute path",
    ],
    ["http, a relative path", http, "release.tar.gz.sha256", "the http(s) URL or absolute path"],
    [
      "local archive, 63 hex digits",
      local,
      `sha256:${sha256.slice(1)}`,
      "the absolute path of a .sha256 file",
    ],
    [
      "local archive, an http URL",
      local,
      "http://127.0.0.1:9/app.tar.gz.sha256",
      "the absolute path of a .sha256 file",
    ],
  ])(
    "%s: exit 2 naming the key even with nothing to download, in a run and --check-only",
    async (_, kind, bad, expected) => {
      const { config, write, app } = await installed(kind);
      await write(bad);
      for (const args of [
        ["--config", config],
        ["--config", config, "--check-only"],
      ]) {
        const run = await runShip(args);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        expect(run.stdout + run.stderr).toContain(
          `ship.toml:10:1 sources.s.checksum: must be "sha256:" and 64 hex digits, or ${expected}`,
        );
        // A URL is quoted up to its host: its path, query and login may be secrets (below).
        expect(run.stdout + run.stderr).toContain(
          `(got ${JSON.stringify(bad.replace(/^(\w+:\/\/[^/]*)\/.*/, "$1/…"))})`,
        );
      }
      expect(await readdir(app)).toEqual(["app.txt"]);
    },
  );

  // The algorithm in capitals, as `sha256sum --tag` and release pages write it: it was exit 2
  // "must be \"sha256:\" and 64 hex digits" of a value that is just that.
  it.each([
    ["http", http],
    ["local archive", local],
  ])("%s: SHA256:<HEX> is the same checksum as sha256:<hex>", async (_, kind) => {
    const { config, write, app } = await installed(kind);
    await write(`SHA256:${sha256.toUpperCase()}`);
    const run = await runShip(["--config", config, "--check-only"]);
    expect(run.stdout + run.stderr).not.toContain("sources.s.checksum");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readdir(app)).toEqual(["app.txt"]);
  });

  it("an SFTP source: an http URL is refused before connecting (the server is down here)", async () => {
    const dir = join(root, "sftp");
    await mkdir(join(dir, "app"), { recursive: true });
    await writeFile(join(dir, "id"), "not read: the checksum is refused first\n", { mode: 0o600 });
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\n\n[sources.s]\ntype = "sftp"\nhostname = "127.0.0.1"\nport = 9\nusername = "u"\nkey_filename = "${dir}/id"\nremote_path = "/r/app.tar.gz"\napp_dir = "${dir}/app"\nchecksum = "https://example.invalid/app.tar.gz.sha256"\n`,
      { mode: 0o600 },
    );
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain(
      'sources.s.checksum: must be "sha256:" and 64 hex digits, or the absolute path of a .sha256 file on the SFTP server',
    );
  });

  // Quoted whole, a checksum naming a login put its password on stderr, into the state file's
  // last_error and into what `ship agent` reports to the hub; a port typo failed the run at fetch
  // ("Invalid URL", exit 1, no key named), and a file:// URL with a host or login stopped ship with
  // "internal error: Invalid URL".
  it.each([
    ["http, another scheme", http, "ftp://deploy:Pa55-Secret@files.example/app.sha256", 'must be "sha256:"'],
    [
      "http, a port typo",
      http,
      "https://deploy:Pa55-Secret@files.example:443000/app.sha256",
      "is not a valid URL",
    ],
    [
      "http, a space in the host",
      http,
      "https://deploy:Pa55-Secret@files example/app.sha256",
      "is not a valid URL",
    ],
    [
      "http, file:// with a login",
      http,
      "file://deploy:Pa55-Secret@/etc/app.sha256",
      "a file:// URL must name a file on this host",
    ],
    [
      "local archive, file:// naming a host",
      local,
      "file://files.example/etc/app.sha256",
      "a file:// URL must name a file on this host",
    ],
    ["local archive, scp-style", local, "deploy:Pa55-Secret@files.example:/app.sha256", 'must be "sha256:"'],
  ])("%s: exit 2 naming the key, the value shown without its login", async (_, kind, bad, expected) => {
    const { config, write, app } = await installed(kind);
    await write(bad);
    for (const args of [
      ["--config", config],
      ["--config", config, "--check-only"],
      ["--config", config, "--json"],
    ]) {
      const run = await runShip(args);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout + run.stderr).toContain(`sources.s.checksum: ${expected}`);
      expect(run.stdout + run.stderr).not.toContain("Pa55-Secret");
      expect(run.stdout + run.stderr).not.toContain("internal error");
    }
    const state = await readFile(join(app, "..", "var", "state.json"), "utf8");
    expect(state).not.toContain("Pa55-Secret");
    expect(await readdir(app)).toEqual(["app.txt"]);
  });

  it("a local checksum file that is missing is refused with nothing to download, too", async () => {
    const { config, write } = await installed(http);
    await write(`${root}/missing.sha256`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(
      /sources\.s\.checksum: cannot read \S+missing\.sha256: no such file/,
    );
  });

  it("good checksums still pass: an inline sha256 and a checksum URL, up to date", async () => {
    const { config, write } = await installed(http);
    await writeFile(join(root, "app.tar.gz.sha256"), `${sha256}  app.tar.gz\n`);
    for (const good of [
      `sha256:${sha256.toUpperCase()}`,
      `${server.url}/app.tar.gz.sha256`,
      `${root}/app.tar.gz.sha256`,
    ]) {
      await write(good);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/s: up to date \(1\.0\.0\)/);
    }
  });
});
