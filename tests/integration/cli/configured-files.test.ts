/**
 * Files ship.toml keys name (a source's CA, SSH key, passphrase and known_hosts, [trust] key files,
 * [hub] ca_file and token_file): missing, a directory or empty is exit 2 with one line naming the
 * config file, the key and the file, before the source is contacted and with the app untouched.
 * Before, a missing ca_file was Node's bare "ENOENT: …, open '…'" (exit 1), an empty SSH key
 * ssh2's "Cannot parse privateKey", and `ship agent` with a missing hub CA retried forever.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git } from "../sources/git-repos.js";

const KEY_TEXT =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n";

let root: string;
let appDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-files-"));
  appDir = join(root, "app");
  await mkdir(appDir);
  await mkdir(join(root, "a-dir"));
  await mkdir(join(root, "repo"));
  await writeFile(join(root, "empty"), "");
  await writeFile(
    join(root, "damaged.pem"),
    "-----BEGIN CERTIFICATE-----\nMIIBnotbase64==\n-----END CERTIFICATE-----\n",
  );
  await writeFile(join(root, "hub.token"), "not.a.jwt\n", { mode: 0o600 });
  // The claims only: the agent reads them unverified (only the hub verifies).
  const claims = Buffer.from(JSON.stringify({ role: "operator", name: "operator" })).toString("base64url");
  await writeFile(join(root, "operator.token"), `eyJhbGciOiJIUzI1NiJ9.${claims}.sig\n`, { mode: 0o600 });
  // Trust anchors (a key, a CA, known_hosts) that others can write: they could add their own.
  await writeFile(join(root, "shared.pem"), "-----BEGIN PUBLIC KEY-----\n", { mode: 0o600 });
  await chmod(join(root, "shared.pem"), 0o664);
  await writeFile(join(root, "world.pem"), "-----BEGIN PUBLIC KEY-----\n", { mode: 0o600 });
  await chmod(join(root, "world.pem"), 0o646);
  // SSH private keys others can read (OpenSSH refuses them), and a trusted key in a directory the
  // group can write (whoever can write it replaces the key file).
  await writeFile(join(root, "loose.key"), KEY_TEXT, { mode: 0o600 });
  await chmod(join(root, "loose.key"), 0o644);
  await writeFile(join(root, "group.key"), KEY_TEXT, { mode: 0o600 });
  await chmod(join(root, "group.key"), 0o640);
  await mkdir(join(root, "open-dir"));
  await chmod(join(root, "open-dir"), 0o775);
  await writeFile(join(root, "open-dir/trusted.pem"), "-----BEGIN PUBLIC KEY-----\n", { mode: 0o644 });
  // A link whose target's parent is missing too (a volume not mounted), and a loop.
  await symlink(join(root, "missing/parent/app"), join(root, "dangling"));
  await symlink("loop", join(root, "loop"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const general = () =>
  `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n`;

async function config(text: string): Promise<string> {
  const file = join(root, "ship.toml");
  await writeFile(file, `${general()}${text}`, { mode: 0o600 });
  return file;
}

const https = (extra: string) =>
  `[sources.web]\ntype = "https"\nurl = "https://127.0.0.1:1/app.tar.gz"\napp_dir = "${"APP"}"\nretries = 0\n${extra}\n`;
const sftp = (extra: string) =>
  `[sources.web]\ntype = "sftp"\nhostname = "127.0.0.1"\nport = 1\nusername = "u"\nremote_path = "/app.tar.gz"\napp_dir = "APP"\n${extra}\n`;

describe("ship: a file a ship.toml key names that cannot be used (real CLI)", () => {
  it.each([
    [
      "https ca_file missing",
      https('ca_file = "/nonexistent/ca.pem"'),
      /sources\.web\.ca_file: cannot read \/nonexistent\/ca\.pem: no such file or directory \(ENOENT\)$/,
    ],
    [
      "https ca_file a directory",
      https('ca_file = "ROOT/a-dir"'),
      /sources\.web\.ca_file: cannot read \S+\/a-dir: is a directory \(EISDIR\)$/,
    ],
    ["https ca_file empty", https('ca_file = "ROOT/empty"'), /sources\.web\.ca_file: \S+\/empty is empty$/],
    // Node's TLS reads a CA file without a PEM certificate as no CA at all: it was accepted here and
    // every download then said "ca_file … is not that CA's certificate", sending the operator to
    // look for another CA instead of at the file.
    [
      "https ca_file a private key",
      https('ca_file = "ROOT/loose.key"'),
      /sources\.web\.ca_file: \S+\/loose\.key holds a private key, not a certificate: give the certificate \(PEM, -----BEGIN CERTIFICATE-----\) of the CA that signed the server's$/,
    ],
    [
      "https ca_file text with no certificate",
      https('ca_file = "ROOT/hub.token"'),
      /sources\.web\.ca_file: \S+\/hub\.token holds no certificate \(no -----BEGIN CERTIFICATE----- block\): give the certificate/,
    ],
    [
      "https ca_file with a damaged certificate",
      https('ca_file = "ROOT/damaged.pem"'),
      /sources\.web\.ca_file: \S+\/damaged\.pem: certificate 1 of 1 is damaged \(it does not parse\): give the CA's certificate \(PEM\) as issued$/,
    ],
    [
      "sftp key_filename empty",
      sftp('key_filename = "ROOT/empty"'),
      /sources\.web\.key_filename: \S+\/empty is empty$/,
    ],
    [
      "sftp key_filename missing and known_hosts a directory",
      sftp('key_filename = "/nonexistent/id"\nknown_hosts = "ROOT/a-dir"'),
      /sources\.web\.key_filename: cannot read \/nonexistent\/id: .*\(ENOENT\); \S+ sources\.web\.known_hosts: cannot read \S+\/a-dir: is a directory \(EISDIR\)$/,
    ],
    [
      "git key_filename missing",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/repo"\napp_dir = "APP"\nkey_filename = "/nonexistent/id"\n`,
      /sources\.web\.key_filename: cannot read \/nonexistent\/id: no such file or directory \(ENOENT\)$/,
    ],
    [
      "git local_path missing",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/no-clone"\napp_dir = "APP"\n`,
      /sources\.web\.local_path: \S+\/no-clone does not exist: clone the repository there first \(git clone REMOTE \S+\/no-clone\)$/,
    ],
    [
      "git local_path missing, remote a URL: the clone command names it",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/no-clone"\napp_dir = "APP"\nremote = "ssh://git@git.example.com/app.git"\n`,
      /sources\.web\.local_path: \S+\/no-clone does not exist: clone the repository there first \(git clone ssh:\/\/git@git\.example\.com\/app\.git \S+\/no-clone\)$/,
    ],
    [
      "git local_path missing, remote an https URL with a token: not echoed",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/no-clone"\napp_dir = "APP"\nremote = "https://ghp_secret123@git.example.com/app.git"\n`,
      /sources\.web\.local_path: \S+\/no-clone does not exist: clone the repository there first \(git clone REMOTE \S+\/no-clone\)$/,
    ],
    [
      "git local_path a file",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/empty"\napp_dir = "APP"\n`,
      /sources\.web\.local_path: \S+\/empty is not a directory \(it must be a git clone\)$/,
    ],
    [
      "git local_path a directory that is not a clone",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/a-dir"\napp_dir = "APP"\n`,
      /sources\.web\.local_path: \S+\/a-dir is not a git repository \(no \.git in it\): clone the repository there first \(git clone REMOTE \S+\/a-dir\)$/,
    ],
    [
      "local path missing",
      `[sources.web]\ntype = "local"\npath = "ROOT/no-release"\napp_dir = "APP"\n`,
      /sources\.web\.path: \S+\/no-release: no such file or directory \(ENOENT\)$/,
    ],
    [
      "local path a directory with a checksum",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\nchecksum = "sha256:${"a".repeat(64)}"\n`,
      /sources\.web\.checksum: a checksum verifies an archive, but \S+\/a-dir is a directory; remove the key or point path at the archive$/,
    ],
    [
      'type = "https" with an http:// url',
      `[sources.web]\ntype = "https"\nurl = "http://127.0.0.1:1/app.tar.gz"\napp_dir = "APP"\n`,
      /sources\.web\.url: type = "https" needs an https:\/\/ URL$/,
    ],
    [
      "[trust] key_files entry a directory",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\n[trust]\nkey_files = ["ROOT/a-dir"]\n`,
      /trust\.key_files\[0\]: cannot read \S+\/a-dir: is a directory \(EISDIR\)$/,
    ],
    [
      "[trust] key_files entry writable by the group",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\n[trust]\nkey_files = ["ROOT/shared.pem"]\n`,
      /trust\.key_files\[0\]: \S+\/shared\.pem is writable by other users \(mode 664\): anyone who can write it can add a signing key of their own, and so releases they sign; chmod go-w it$/,
    ],
    [
      "https ca_file writable by everyone",
      https('ca_file = "ROOT/world.pem"'),
      /sources\.web\.ca_file: \S+\/world\.pem is writable by other users \(mode 646\): anyone who can write it can add a CA, and so a server in the middle that ship then trusts; chmod go-w it$/,
    ],
    [
      "sftp known_hosts writable by the group",
      sftp('key_filename = "ROOT/hub.token"\nknown_hosts = "ROOT/shared.pem"'),
      /sources\.web\.known_hosts: \S+\/shared\.pem is writable by other users \(mode 664\): anyone who can write it can add a host key/,
    ],
    [
      "sftp key_filename readable by everyone",
      sftp('key_filename = "ROOT/loose.key"'),
      /sources\.web\.key_filename: \S+\/loose\.key is readable by other users \(mode 644\): anyone who reads it logs in as this source's user \(OpenSSH refuses such a key too\); chmod 600 it$/,
    ],
    [
      "git key_filename readable by the group",
      `[sources.web]\ntype = "git"\nlocal_path = "ROOT/repo"\napp_dir = "APP"\nkey_filename = "ROOT/group.key"\n`,
      /sources\.web\.key_filename: \S+\/group\.key is readable by other users \(mode 640\)/,
    ],
    // A run (unlike `ship agent`) did not read the keys until a release came: it then blamed the
    // release ("[trust] keys are configured but this release has no signed artifact"), every run.
    [
      "[trust] keys entry that is no public key",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\n[trust]\nkeys = ["garbage"]\n`,
      /trust\.keys\[0\]: expected a PEM public key or base64 of the raw 32-byte Ed25519 key$/,
    ],
    // Its line breaks lost on the way (a configuration tool that keeps one line): it was OpenSSL's
    // "not a readable PEM public key (error:1E08010C:DECODER routines::unsupported)".
    [
      "[trust] keys entry whose PEM lines were joined",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\n[trust]\nkeys = ["-----BEGIN PUBLIC KEY----- MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE= -----END PUBLIC KEY-----"]\n`,
      /trust\.keys\[0\]: has its PEM block on one line: its line breaks were lost .*line breaks and all$/,
    ],
    [
      "[trust] key file in a directory the group can write",
      `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "APP"\n[trust]\nkey_files = ["ROOT/open-dir/trusted.pem"]\n`,
      /trust\.key_files\[0\]: \S+\/open-dir\/trusted\.pem is in \S+\/open-dir, which other users can write \(mode 775\): anyone who can write it can replace the file and add a signing key of their own, and so releases they sign; chmod go-w \S+\/open-dir$/,
    ],
  ])(
    "%s: exit 2, one line naming ship.toml, the key and the file; app untouched",
    async (_label, text, message) => {
      const file = await config(text.replaceAll("ROOT", root).replaceAll("APP", appDir));
      for (const args of [["--check-only"], ["--force"]]) {
        const run = await runShip(["--config", file, ...args]);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        // The one line, and nothing else: no log line beside it, no report on stdout.
        expect(run.stdout).toBe("");
        const line = run.stderr.trim();
        expect(line.split("\n")).toHaveLength(1);
        expect(line).toMatch(new RegExp(`^ship: ${file}:\\d+:\\d+ `));
        expect(line).toMatch(message);
        expect(line).not.toMatch(/^ENOENT|open '/);
      }
      expect(await readdir(appDir)).toEqual([]);
      // Refused before the run takes its lock or writes its state: no var/ (locks/, state.json).
      expect(await readdir(root)).not.toContain("var");
    },
  );
});

describe("ship: a path a ship.toml key names that exists as the wrong kind (real CLI)", () => {
  const local = (appDir: string) =>
    `[sources.web]\ntype = "local"\npath = "ROOT/a-dir"\napp_dir = "${appDir}"\n`;
  const general = (extra: string) => `[general]\nmin_interval_hours = 0\n${extra}\n`;
  const state = 'state_file = "ROOT/var/state.json"\n';
  const backups = 'backup_dir = "ROOT/var/backups"\n';
  it.each([
    [
      "app_dir a file",
      general(state + backups) + local("ROOT/empty"),
      "sources.web.app_dir",
      "empty is a file; it must be a directory",
    ],
    [
      "state_file a directory",
      general(`state_file = "ROOT/a-dir"\n${backups}`) + local("APP"),
      "general.state_file",
      "a-dir is a directory; it must be a file",
    ],
    [
      "backup_dir a file",
      general(`${state}backup_dir = "ROOT/empty"\n`) + local("APP"),
      "general.backup_dir",
      "empty is a file; it must be a directory",
    ],
    [
      "work_dir a file",
      general(`${state + backups}work_dir = "ROOT/empty"\n`) + local("APP"),
      "general.work_dir",
      "empty is a file; it must be a directory",
    ],
    [
      "lock_file a directory",
      general(`${state + backups}lock_file = "ROOT/a-dir"\n`) + local("APP"),
      "general.lock_file",
      "a-dir is a directory; it must be a file",
    ],
    [
      "app_dir a dangling symlink",
      general(state + backups) + local("ROOT/dangling"),
      "sources.web.app_dir",
      "dangling is a symlink to ROOT/missing/parent/app, which does not exist: create that directory",
    ],
    [
      "app_dir behind a symlink loop",
      general(state + backups) + local("ROOT/loop/app"),
      "sources.web.app_dir",
      "loop/app lies behind ROOT/loop, a loop of symlinks",
    ],
    [
      "backup_dir behind a dangling symlink",
      general(`${state}backup_dir = "ROOT/dangling/backups"\n`) + local("APP"),
      "general.backup_dir",
      "dangling/backups lies behind ROOT/dangling, a symlink to ROOT/missing/parent/app, which does not exist",
    ],
    [
      "state_file in a dangling symlink",
      general(`state_file = "ROOT/dangling/state.json"\n${backups}`) + local("APP"),
      "general.state_file",
      "dangling/state.json lies behind ROOT/dangling, a symlink to ROOT/missing/parent/app",
    ],
    [
      "logging file in a dangling symlink",
      general(`${state + backups}[general.logging]\nfile = "ROOT/dangling/ship.log"\n`) + local("APP"),
      "general.logging.file",
      "dangling/ship.log lies behind ROOT/dangling",
    ],
    [
      // Opening the link cannot create its target there: before, exit 1 "cannot write log file".
      "logging file a symlink into a missing directory",
      general(`${state + backups}[general.logging]\nfile = "ROOT/dangling"\n`) + local("APP"),
      "general.logging.file",
      "dangling is a symlink to ROOT/missing/parent/app, whose directory ROOT/missing/parent does not exist",
    ],
    [
      // Before: exit 1, "ELOOP: too many symbolic links encountered, open …".
      "state_file a symlink loop",
      general(`state_file = "ROOT/loop"\n${backups}`) + local("APP"),
      "general.state_file",
      "loop is a loop of symlinks: point it at a file",
    ],
    [
      "logging file a directory",
      general(`${state + backups}[general.logging]\nfile = "ROOT/a-dir"\n`) + local("APP"),
      "general.logging.file",
      "a-dir is a directory; it must be a file",
    ],
  ])(
    "%s: exit 2 naming ship.toml and the key in every mode, nothing written",
    async (_label, text, key, what) => {
      // Before: "internal error: EISDIR …" or an update failing at its apply with a bare ENOTDIR, exit 1.
      const file = join(root, "ship.toml");
      await writeFile(file, text.replaceAll("ROOT", root).replaceAll("APP", appDir));
      // A source's app_dir matters to the runs that update it; [general] paths to every mode.
      const modes = key.startsWith("sources.")
        ? [["--force"], ["--check-only"]]
        : [["--force"], ["--check-only"], ["--recover"], ["--list-backups"], ["--rollback", "x"]];
      for (const args of modes) {
        const run = await runShip(["--config", file, ...args]);
        expect(run.code, `${args[0]}: ${run.stdout}${run.stderr}`).toBe(2);
        const said = `${run.stdout}${run.stderr}`.trim();
        expect(said).toMatch(new RegExp(`${file}:\\d+:\\d+ ${key}: ${root}/`));
        expect(said).toContain(`${key}: ${root}/${what.replaceAll("ROOT", root)}`);
        expect(said).not.toMatch(/internal error|^E[A-Z]+:/m);
      }
      expect(await readdir(appDir)).toEqual([]);
      expect(await readdir(root)).not.toContain("missing");
      // A wrong [general] path stops the run before its lock and state are written.
      if (key.startsWith("general.")) expect(await readdir(root)).not.toContain("var");
    },
  );
});

describe.skipIf(!hasProgram("git"))("ship: a git local_path inside another repository (real git)", () => {
  it("is refused naming the key, and nothing is fetched into or reset in the repository that holds it", async () => {
    // /etc under etckeeper, a home directory in a dotfiles repo: git would find that repository in
    // local_path's parents, fetch the app's remote into it and move its HEAD.
    const origin = join(root, "origin.git");
    const dev = join(root, "dev");
    const host = join(root, "host");
    await git(root, "init", "-q", "--bare", origin);
    await git(root, "init", "-q", dev);
    await writeFile(join(dev, "app.txt"), "v1\n");
    await writeFile(join(dev, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await git(dev, "add", "-A");
    await git(dev, "commit", "-q", "-m", "v1");
    await git(dev, "push", "-q", origin, "HEAD:main");
    await mkdir(join(host, "opt/clone"), { recursive: true });
    await writeFile(join(host, "opt/clone/README"), "the host's own file\n");
    await git(root, "init", "-q", host);
    await git(host, "add", "-A");
    await git(host, "commit", "-q", "-m", "host");
    const refsBefore = await git(host, "show-ref");
    for (const localPath of [join(host, "opt/clone"), appDir]) {
      const clone = localPath === appDir ? join(host, "opt/app") : localPath;
      if (localPath === appDir) await mkdir(clone, { recursive: true });
      const file = await config(
        `[sources.web]\ntype = "git"\nlocal_path = "${clone}"\napp_dir = "${localPath === appDir ? clone : appDir}"\n` +
          `remote = "file://${origin}"\nbranch = "main"\n`,
      );
      const run = await runShip(["--config", file, "--force"]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim()).toMatch(
        /sources\.web\.local_path: \S+ is not a git repository \(no \.git in it\)/,
      );
    }
    expect(await git(host, "show-ref")).toBe(refsBefore);
    expect(await git(host, "status", "--porcelain")).toBe("");
    expect(await readdir(appDir)).toEqual([]);
  });
});

describe("ship agent: [hub] files that cannot be used stop it at start (real CLI)", () => {
  it.each([
    [
      'ca_file = "/nonexistent/ca.pem"\ntoken_file = "ROOT/hub.token"',
      /ship\.toml:\d+:\d+ hub\.ca_file: cannot read \/nonexistent\/ca\.pem: no such file or directory \(ENOENT\)$/,
    ],
    [
      'ca_file = "ROOT/damaged.pem"\ntoken_file = "ROOT/hub.token"',
      /ship\.toml:\d+:\d+ hub\.ca_file: \S+\/damaged\.pem: certificate 1 of 1 is damaged \(it does not parse\)/,
    ],
    ['token_file = "ROOT/empty"', /ship\.toml:\d+:\d+ hub\.token_file: \S+\/empty is empty$/],
    // An operator's token (the one at hand) where the agent's belongs: 403 at every connect, for ever.
    [
      'token_file = "ROOT/operator.token"',
      /operator\.token hub\.token_file: holds an operator token; ship agent needs an agent token: ship-hub token create --role agent --agent a1$/,
    ],
    [
      'token_file = "ROOT/a-dir"',
      /ship\.toml:\d+:\d+ hub\.token_file: cannot read \S+\/a-dir: is a directory \(EISDIR\)$/,
    ],
  ])("%s: exit 2 naming the key, instead of reconnecting forever", async (hub, message) => {
    const file = await config(
      `[hub]\nurl = "https://127.0.0.1:1"\nagent_id = "a1"\n${hub.replaceAll("ROOT", root)}\n`,
    );
    const run = await runShip(["agent", "--config", file]);
    expect(run.code).toBe(2);
    const lines = run.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.includes("warning:"));
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    // A directory or an empty file is refused, not warned of first as "readable by other users
    // (mode 755); chmod 600 it": a refused start says its one line about it.
    expect(run.stderr).not.toMatch(/warning: .*\/(a-dir|empty) is readable/);
  });

  it("a damaged state file (a hand-edited time) stops it at start: exit 2 naming the file and key, nothing written", async () => {
    await mkdir(join(root, "var"));
    const state = join(root, "var/state.json");
    const text = `${JSON.stringify({ last_run: "yesterday", sources: {} })}\n`;
    await writeFile(state, text);
    const file = await config(
      `[hub]\nurl = "http://127.0.0.1:1"\nagent_id = "a1"\ntoken_file = "${root}/hub.token"\n`,
    );
    // It ran on instead: its hello failed on the state file at every connect ("could not announce
    // to the hub"), connected but never online at the hub, and no restart by systemd fixed it.
    const run = await runShip(["agent", "--config", file], { timeoutMs: 20_000 });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(/state\.json is damaged, last_run: is not an ISO 8601 time/);
    expect(await readFile(state, "utf8")).toBe(text);
  });
});
