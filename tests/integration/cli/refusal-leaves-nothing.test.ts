/**
 * Every refusal for bad input, on a host that never ran ship and on one with a version installed:
 * exit 2, one line naming what is wrong, and ship's directories (state, work, locks, backups, log)
 * and the app exactly as they were: every entry's type, size and mtime (nanoseconds), directories
 * included. Before: a broken manifest on a fresh host left the state directory, locks/, work/, the
 * stat index and a state file recording the error; on an installed host the state file and the stat
 * index were rewritten; a refused first run left a log file. Real git, sshd and HTTP servers.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { generateKey, type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { treeListing } from "../../support/tree-listing.js";
import { buildTar } from "../../unit/sources/tar-builder.js";
import { commitFiles, git, makeRepos } from "../sources/git-repos.js";

/** Where each host keeps what the test looks at; releases and servers live beside it, unwatched. */
interface Host {
  root: string;
  /** The watched tree: app/, var/ (state, work, locks), backups/, log/. */
  host: string;
  config: string;
}

let root: string;
const http = fileServerForFile();
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-refusal-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  // The shared installed host went with root: a rerun of the file in this process makes another.
  installedHost = undefined;
});

let count = 0;
/** A new host: ship.toml's [general] and the source's app_dir, and with `installed` 1.0.0 put in from a local release. */
async function newHost(installed: boolean): Promise<Host & { general: string }> {
  const dir = join(root, `host-${++count}`);
  const watched = join(dir, "host");
  await mkdir(join(watched, "app"), { recursive: true });
  await mkdir(join(watched, "log"));
  const config = join(dir, "ship.toml");
  const general =
    `[general]\nstate_file = "${watched}/var/state.json"\nbackup_dir = "${watched}/backups"\nmin_interval_hours = 0\n` +
    `[general.logging]\nfile = "${watched}/log/ship.log"\n\n[sources.myapp]\napp_dir = "${watched}/app"\n`;
  if (installed) {
    const v1 = join(dir, "v1");
    await mkdir(v1);
    await writeFile(join(v1, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(v1, "app.txt"), "v1\n");
    await writeFile(config, `${general}type = "local"\npath = "${v1}"\n`);
    const first = await runShip(["--config", config]);
    expect(first.code, first.stderr).toBe(0);
  }
  return { root: dir, host: watched, config, general };
}

/**
 * The host with 1.0.0 installed, made once for the file: each case asserts that its refusal left
 * the host as it found it (every entry's type, size and mtime, but the log's), so the next case
 * finds a host with 1.0.0 installed, as a host of its own would be, without an install of its own
 * (one ship run each, a dozen). A refusal that changed something fails its own case.
 */
let installedHost: Promise<Host & { general: string }> | undefined;
function theInstalledHost(): Promise<Host & { general: string }> {
  installedHost ??= newHost(true);
  return installedHost;
}

/**
 * A host whose one source `myapp` is `sourceToml` (given a directory of the case's own, beside the
 * watched tree, for its releases and servers' files); `installed`: 1.0.0 went in from a local
 * release first.
 */
async function host(
  installed: boolean,
  sourceToml: (dir: string) => string | Promise<string>,
): Promise<Host> {
  const h = await (installed ? theInstalledHost() : newHost(false));
  const dir = installed ? join(h.root, `case-${++count}`) : h.root;
  await mkdir(dir, { recursive: true });
  await writeFile(h.config, h.general + (await sourceToml(dir)));
  return { root: dir, host: h.host, config: h.config };
}

/** A log line a refusal may add is allowed in a log file that was there: its size and mtime move. */
function withoutLogFile(tree: Record<string, string>): Record<string, string> {
  const { "log/ship.log": _log, ...rest } = tree;
  return rest;
}

/** Runs `ship` with `args` on `h`: exit 2, one line of output matching `says`, nothing changed. */
async function expectRefused(h: Host, says: RegExp, args: string[] = []): Promise<void> {
  const before = await treeListing(h.host);
  const run = await runShip(["--config", h.config, ...args]);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  const lines = `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.trim() !== "");
  expect(lines, lines.join("\n")).toHaveLength(1);
  expect(lines[0]).toMatch(says);
  const after = await treeListing(h.host);
  if (before["log/ship.log"] === undefined) expect(after).toEqual(before);
  else expect(withoutLogFile(after)).toEqual(withoutLogFile(before));
}

/** A local release directory `name` beside the host with these files. */
async function localRelease(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const release = join(dir, name);
  await mkdir(release, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(release, rel, ".."), { recursive: true });
    await writeFile(join(release, rel), text);
  }
  return release;
}

const localDir = (files: Record<string, string>) => async (dir: string) =>
  `type = "local"\npath = "${await localRelease(dir, "v2", files)}"\n`;

const tarGz = (files: Record<string, string>) =>
  gzipSync(buildTar(Object.entries(files).map(([path, body]) => ({ path, body }))));

const badManifest = { "update-manifest.yaml": "version: [oops\n", "app.txt": "v2\n" };

describe.each([
  ["a host that never ran ship", false],
  ["a host with 1.0.0 installed", true],
])("a refused run on %s changes nothing", (_what, installed) => {
  it("a manifest that is not YAML (local directory)", async () => {
    const h = await host(installed, localDir(badManifest));
    await expectRefused(h, /^myapp: .*update-manifest\.yaml:2:1 YAML: /);
  });

  it("a manifest with a wrong value (local directory)", async () => {
    const h = await host(installed, localDir({ "update-manifest.yaml": "version: 2\n", a: "x" }));
    await expectRefused(h, /^myapp: .*update-manifest\.yaml/);
  });

  it("a manifest that is not YAML (local archive)", async () => {
    const h = await host(installed, async (dir) => {
      await writeFile(join(dir, "v2.tar.gz"), tarGz(badManifest));
      return `type = "local"\npath = "${dir}/v2.tar.gz"\n`;
    });
    await expectRefused(h, /^myapp: .*update-manifest\.yaml/);
  });

  it("an empty release", async () => {
    const h = await host(installed, localDir({}));
    await expectRefused(h, /^myapp: empty release: /);
  });

  it("a wrapped release (its manifest one directory down)", async () => {
    const h = await host(installed, localDir({ "inner/update-manifest.yaml": 'version: "2.0.0"\n' }));
    await expectRefused(h, /sources\.myapp\.path: .* holds only the directory inner\//);
  });

  it("a local path that does not exist", async () => {
    const h = await host(installed, (dir) => `type = "local"\npath = "${dir}/nowhere"\n`);
    await expectRefused(h, /sources\.myapp\.path: .*nowhere: no such file or directory/);
  });

  it("a ship.toml value that is wrong", async () => {
    const h = await host(installed, () => `type = "ftp"\npath = "/srv"\n`);
    await expectRefused(h, /sources\.myapp\.type: unknown source type "ftp"/);
  });

  it.each([
    [["--sources", "nope"], /--sources nope: no such source/],
    [["--frobnicate"], /unknown option '--frobnicate'/],
  ])("command-line flags %j", async (args, says) => {
    const h = await host(installed, localDir({ "update-manifest.yaml": 'version: "2.0.0"\n' }));
    await expectRefused(h, says, args);
  });

  it("a git branch the remote does not have", async () => {
    const h = await host(installed, async (dir) => {
      const repos = await makeRepos(join(dir, "git"));
      await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      return `type = "git"\nlocal_path = "${repos.clone}"\nbranch = "nosuch"\n`;
    });
    await expectRefused(h, /sources\.myapp\.branch: the remote .* has no branch "nosuch"/);
  });

  it("an http url the server does not have (404)", async () => {
    const h = await host(installed, () => `type = "http"\nurl = "${http.url}/missing.tar.gz"\n`);
    await expectRefused(h, /^myapp: .*missing\.tar\.gz.*404/);
  });
});

describe.skipIf(!hasProgram("sshd"))("a refused sftp run changes nothing (real sshd)", () => {
  let sshd: SshdServer;
  beforeAll(async () => {
    sshd = await startSshd(join(root, "sshd"));
  }, 60_000);
  afterAll(() => sshd.close());

  const sftp = (remotePath: string, keyFile?: string, username = sshd.user) =>
    `type = "sftp"\nhostname = "${sshd.host}"\nport = ${sshd.port}\nusername = "${username}"\n` +
    `key_filename = "${keyFile ?? sshd.clientKey.privateKeyFile}"\nknown_hosts = "${sshd.knownHostsFile}"\nremote_path = "${remotePath}"\n`;

  it("a user the server does not know: exit 2, one line naming key_filename", async () => {
    const h = await host(false, (dir) => sftp(`${dir}/v2.tar.gz`, undefined, "nosuchuser"));
    await expectRefused(h, /sources\.myapp\.key_filename: sftp:\/\/nosuchuser@.* does not accept the key/);
  }, 60_000);

  it.each([
    ["a host that never ran ship", false],
    ["a host with 1.0.0 installed", true],
  ])(
    "a remote_path the server does not have, on %s",
    async (_what, installed) => {
      const h = await host(installed, (dir) => sftp(`${dir}/nowhere.tar.gz`));
      await expectRefused(h, /sources\.myapp\.remote_path: sftp:\/\/.*nowhere\.tar\.gz is not on the server/);
    },
    60_000,
  );

  it.each([
    ["a host that never ran ship", false],
    ["a host with 1.0.0 installed", true],
  ])(
    "a key the server does not accept, on %s",
    async (_what, installed) => {
      const h = await host(installed, async (dir) => {
        await writeFile(join(dir, "v2.tar.gz"), tarGz({ "update-manifest.yaml": 'version: "2.0.0"\n' }));
        const stranger = await generateKey(join(dir, "stranger"));
        return sftp(`${dir}/v2.tar.gz`, stranger.privateKeyFile);
      });
      await expectRefused(h, /^myapp: .*sftp:\/\/.*127\.0\.0\.1/);
    },
    60_000,
  );
});
