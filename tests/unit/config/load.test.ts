import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile, parseConfigText } from "../../../shared/config/load.js";
import { BadInputError, formatIssue } from "../../../shared/errors.js";
import { configJsonSchema } from "../../../shared/schema/json-schema.js";
import { unusedSchemaKeys } from "../manifest/document-keys.js";

const fixtures = join(import.meta.dirname, "../../fixtures/configs");
const F = "ship.toml";

function issuesOf(text: string): string[] {
  try {
    return parseConfigText(text, F).warnings.map(formatIssue);
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    return e.issues.map(formatIssue);
  }
}

describe("the seed's ship.toml", () => {
  it("loads its three sources with the seed's values", async () => {
    const { config } = parseConfigText(await readFile(join(fixtures, "seed-ship.toml"), "utf8"), F);
    expect(Object.keys(config.sources)).toEqual(["main_app", "release_archive", "sftp_deploy"]);
    expect(config.general).toMatchObject({ backup_dir: "/var/lib/ship/backups", logging: { level: "INFO" } });
    const [git, https, sftp] = Object.values(config.sources);
    expect(git).toMatchObject({ type: "git", local_path: "/opt/myapp", branch: "main", remote: "origin" });
    expect(git?.security).toMatchObject({
      max_file_size_mb: 50,
      privileged_files: ["scripts/system_config.py"],
    });
    expect(https).toMatchObject({
      type: "https",
      headers: { Authorization: "Bearer YOUR_TOKEN" },
      retries: 3,
    });
    expect(sftp).toMatchObject({
      type: "sftp",
      port: 22,
      username: "deployer",
      remote_path: "/releases/myapp-latest.tar.gz",
    });
    expect(config.hub).toBeUndefined();
  });
});

describe("a config using every key", () => {
  it("loads without warnings, and the fixture names every schema key", async () => {
    const text = await readFile(join(fixtures, "every-key.toml"), "utf8");
    const { config, warnings } = parseConfigText(text, F);
    expect(warnings).toEqual([]);
    expect(config.general.logging.level).toBe("DEBUG"); // case-insensitive, normalised
    expect(config.hub?.labels).toEqual({ env: "prod", region: "eu" });
    expect(config.sources.app_local).toMatchObject({ type: "local", path: "/srv/releases/app4.tar.gz" });
    expect(unusedSchemaKeys(configJsonSchema(), parseToml(text))).toEqual([]);
  });
});

describe("malformed configs: every problem, positioned", () => {
  it("reports every error at once, in document order", () => {
    const text = [
      "[general]", //                              1
      "backup_dir = 5", //                         2
      "[general.logging]", //                      3
      'level = "LOUD"', //                         4
      "[sources.main_app]", //                     5
      'type = "git"', //                           6
      'local_path = "opt/myapp"', //               7
      'app_dir = "/opt/myapp"', //                 8
      'brnch = "main"', //                         9
      "[sources.web]", //                          10
      'type = "ftp"', //                           11
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "ship.toml:2:1 general.backup_dir: must be a string (got number 5)",
      `ship.toml:4:1 general.logging.level: unknown log level "LOUD" (expected DEBUG, INFO, WARNING, ERROR, CRITICAL, or Python's WARN, FATAL, NOTSET; any case)`,
      "ship.toml:7:1 sources.main_app.local_path: must be an absolute path",
      'warning: ship.toml:9:1 sources.main_app.brnch: unknown key "brnch" (did you mean "branch"?); ignored',
      'ship.toml:11:1 sources.web.type: unknown source type "ftp" (expected git, https, http, sftp, local, hub)',
    ]);
  });

  const sftp =
    '[sources.s]\ntype = "sftp"\nhostname = "h"\nusername = "u"\nkey_filename = "/k"\nremote_path = "/r"\napp_dir = "/a"\n';
  it.each([
    [
      "port out of range",
      `${sftp}port = 70000\n`,
      /^ship\.toml:8:1 sources\.s\.port: must be ≤ 65535 \(got 70000\)$/,
    ],
    [
      "missing required key",
      '[sources.s]\ntype = "local"\napp_dir = "/a"\n',
      /^ship\.toml:1:10 sources\.s\.path: is required$/,
    ],
    [
      "inline table value",
      `${sftp}security = { max_file_size_mb = -1 }\n`,
      /^ship\.toml:8:14 sources\.s\.security\.max_file_size_mb: must be > 0 \(got -1\)$/,
    ],
    // Unbounded, 1e308 was a limit that limits nothing and 1e-9 counted as 0 bytes (every release refused).
    [
      "max_download_mb past its range",
      `${sftp}max_download_mb = 1e308\n`,
      /^ship\.toml:8:1 sources\.s\.max_download_mb: must be ≤ 1048576 \(1 TiB\)$/,
    ],
    [
      "max_download_mb under a kilobyte",
      '[sources.w]\ntype = "https"\nurl = "https://example.com/a.tar.gz"\napp_dir = "/a"\nmax_download_mb = 1e-9\n',
      /^ship\.toml:5:1 sources\.w\.max_download_mb: must be ≥ 0\.001 \(a kilobyte: a smaller limit refuses every file\)$/,
    ],
    [
      "max_file_size_mb past its range",
      `${sftp}[sources.s.security]\nmax_file_size_mb = 1e308\n`,
      /^ship\.toml:9:1 sources\.s\.security\.max_file_size_mb: must be ≤ 1048576 \(1 TiB\)$/,
    ],
    [
      "array element",
      `${sftp}[sources.s.security]\nallowed_file_types = [\n  ".py",\n  3,\n]\n`,
      /^ship\.toml:11:3 sources\.s\.security\.allowed_file_types\[1\]: must be a string \(got number 3\)$/,
    ],
    [
      "two passphrases",
      `${sftp}passphrase_file = "/p"\npassphrase_env = "PASS"\n`,
      /^ship\.toml:9:1 sources\.s\.passphrase_env: passphrase_file is also set: give the key's passphrase one way, not both$/,
    ],
    [
      "host_fingerprint not a SHA256 one",
      `${sftp}host_fingerprint = "SHA256:abcdef"\n`,
      /^ship\.toml:8:1 sources\.s\.host_fingerprint: must be a SHA256 host key fingerprint as ssh-keygen -lf prints it: "SHA256:" and 43 base64 characters \(got "SHA256:abcdef"\)$/,
    ],
    [
      "host_fingerprint in MD5",
      `${sftp}host_fingerprint = "MD5:5d:41:40:2a:bc:4b:2a:76:b9:71:9d:91:10:17:c5:92"\n`,
      /^ship\.toml:8:1 sources\.s\.host_fingerprint: is an MD5 fingerprint; ship compares SHA256 ones/,
    ],
    [
      "hub url scheme",
      '[hub]\nurl = "ftp://hub:8080"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be an http:\/\/ or https:\/\/ URL \(got string "ftp:\/\/hub:8080"\)$/,
    ],
    // The agent channel's scheme: "must be an http:// or https:// URL" left the operator to guess which.
    [
      "hub url of the WebSocket",
      '[hub]\nurl = "ws://hub:8080"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: is a WebSocket address: give the hub's http:\/\/ address for ws:\/\/, https:\/\/ for wss:\/\/ \(ship derives the agent channel's address from it\)$/,
    ],
    [
      "hub url of the secure WebSocket",
      '[hub]\nurl = "WSS://hub.example"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: is a WebSocket address: give the hub's http:\/\/ address for ws:\/\/, https:\/\/ for wss:\/\//,
    ],
    [
      "bad source name",
      '[sources."my app"]\ntype = "local"\npath = "/p"\napp_dir = "/a"\n',
      /^ship\.toml:1:10 sources\."my app": invalid key: must be 1 to 100 characters: letters, digits/,
    ],
    // The source name is the app's directory under backup_dir: `..` would put backups beside it.
    [
      "source name ..",
      '[sources.".."]\ntype = "local"\npath = "/p"\napp_dir = "/a"\n',
      /^ship\.toml:1:10 sources\."\.\.": invalid key: must be 1 to 100 characters: letters, digits, '\.', '_' or '-', starting with a letter, digit or '_'$/,
    ],
    [
      "labels must be strings",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { env = "prod", n = 3 }\n',
      /^ship\.toml:4:26 hub\.labels\.n: must be a string \(got number 3\)$/,
    ],
    // The rule the hub's channel checks in hello (shared/protocol/agent-id.ts): refused when read.
    [
      "agent_id with a space",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nagent_id = "web 1"\n',
      /^ship\.toml:4:1 hub\.agent_id: must be 1 to 200 characters: letters, digits, '\.', '_' or '-', starting with a letter or digit/,
    ],
    [
      "agent_id too long",
      `[hub]\nurl = "https://h"\ntoken_file = "/t"\nagent_id = "${"a".repeat(201)}"\n`,
      /^ship\.toml:4:1 hub\.agent_id: must be 1 to 200 characters/,
    ],
    [
      "a label value the hello would refuse",
      `[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { env = "${"p".repeat(201)}" }\n`,
      /^ship\.toml:4:\d+ hub\.labels\.env: a label value must be at most 200 characters/,
    ],
    // Announced and stored, but no --selector KEY=VALUE, labels wave or dashboard filter could name
    // them: the host was left out of every rollout meant for it.
    // It starts with http://, yet read "must be an http:// or https:// URL": a port typo.
    [
      "hub url with a port over 65535",
      '[hub]\nurl = "http://hub.example:80800"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: has port 80800, over 65535 \(got string "http:\/\/hub\.example:80800"\)$/,
    ],
    // The rule both CLIs apply to --hub: a password was taken here, and sent on every connect.
    [
      "hub url with user:password@",
      '[hub]\nurl = "http://user:pw@hub.example"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must not carry user:password@ \(the token is the credential, and a password there would show in messages\)$/,
    ],
    [
      "hub url with a user alone",
      '[hub]\nurl = "https://TOKEN@hub.example"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must not carry user:password@/,
    ],
    [
      "hub url with the API's path",
      '[hub]\nurl = "https://hub.example/api/v1"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be the hub's address without \/api\/v1 \(ship adds \/api\/v1\/… to its path\)$/,
    ],
    [
      "source url with a space in its host",
      '[sources.s]\ntype = "http"\nurl = "http://releases example/a.tar.gz"\napp_dir = "/a"\n',
      /^ship\.toml:3:1 sources\.s\.url: is not a valid URL: check the host name and port \(got string/,
    ],
    [
      "an empty label name",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { "" = "x" }\n',
      /^ship\.toml:4:\d+ hub\.labels\."": invalid key: a label name must not be empty or hold '=', ',' or white space \(--selector KEY=VALUE/,
    ],
    [
      "a label name holding '='",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { ring = "canary", "env=prod" = "yes" }\n',
      /^ship\.toml:4:\d+ hub\.labels\."env=prod": invalid key: a label name must not be empty or hold '='/,
    ],
    [
      "a label name holding a space",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\n[hub.labels]\n"data center" = "fra1"\n',
      /^ship\.toml:5:1 hub\.labels\."data center": invalid key: a label name must not be empty/,
    ],
    [
      "a label value with a space at its start and end",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { ring = "canary", env = " prod " }\n',
      /^ship\.toml:4:\d+ hub\.labels\.env: a label value must not begin or end with white space \(--selector KEY=VALUE, a labels wave's K=V and the dashboard's forms trim what they are given, so none could choose it\)$/,
    ],
    [
      "a label value ending in a tab",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\n[hub.labels]\nenv = "prod\\t"\n',
      /^ship\.toml:5:1 hub\.labels\.env: a label value must not begin or end with white space/,
    ],
    // Shown as nothing by the dashboard and the CLI: "env<U+200B>" read as another agent's "env".
    [
      "a label name holding a zero-width space",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\n[hub.labels]\n"env\\u200b" = "prod"\n',
      /^ship\.toml:5:1 hub\.labels\."env\\u200b": invalid key: a label name must not hold a control character or an invisible one/,
    ],
    [
      "a label value ending in a Hangul filler",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\n[hub.labels]\nenv = "prod\\u3164"\n',
      /^ship\.toml:5:1 hub\.labels\.env: a label value must not hold a control character, nor begin or end with an invisible one/,
    ],
    [
      "a label value starting with a no-break space",
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\n[hub.labels]\nenv = "\\u00a0prod"\n',
      /^ship\.toml:5:1 hub\.labels\.env: a label value must not begin or end with white space/,
    ],
    [
      "unknown key in dotted form",
      `${sftp}security.verify_checksum = false\n`,
      /^warning: ship\.toml:8:10 sources\.s\.security\.verify_checksum: unknown key "verify_checksum" \(did you mean "verify_checksums"\?\); ignored$/,
    ],
    [
      "wrong type after a multi-line string",
      '[general]\nlock_file = """\na = 1\n"""\nmin_interval_hours = "daily"\n',
      /^ship\.toml:5:1 general\.min_interval_hours: must be a number \(got string "daily"\)$/,
    ],
    [
      // The git source fetches tags alone then: "tags on stable" was not what it did.
      "git branch beside tag",
      '[sources.g]\ntype = "git"\nlocal_path = "/r"\napp_dir = "/a"\nbranch = "stable"\ntag = "v*"\n',
      /^warning: ship\.toml:5:1 sources\.g\.branch: ignored: with tag = "v\*" ship installs the newest tag matching it, on whatever branch it is; remove branch \(or tag\)$/,
    ],
    [
      "TOML nan where a number goes",
      "[general]\nmin_interval_hours = nan\n",
      /^ship\.toml:2:1 general\.min_interval_hours: must be a finite number \(got NaN\)$/,
    ],
    [
      "unknown section",
      "[hubb]\n",
      /^warning: ship\.toml:1:2 hubb: unknown key "hubb" \(did you mean "hub"\?\); ignored$/,
    ],
    // The agent appends /api/v1/… to the hub's path: after a query, every artifact download was the
    // dashboard's page and each deploy failed "checksum mismatch".
    [
      "hub url with a query",
      '[hub]\nurl = "https://hub.example:8443/?proxy=1"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be the hub's address without a \?query or #fragment \(ship adds \/api\/v1\/… to its path\)$/,
    ],
    [
      "hub url with a fragment",
      '[hub]\nurl = "https://hub.example:8443/ship#x"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be the hub's address without a \?query or #fragment/,
    ],
    // The API's address copied in: every connect was a 404 at …/api/v1/api/v1/agent.
    [
      "hub url with the API's path",
      '[hub]\nurl = "https://hub.example:8443/ship/api/v1/"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be the hub's address without \/api\/v1 \(ship adds \/api\/v1\/… to its path\)$/,
    ],
    [
      "hub url of the agent channel",
      '[hub]\nurl = "wss://hub.example/api/v1/agent"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: /,
    ],
    [
      "hub url of the agent channel, http",
      '[hub]\nurl = "https://hub.example/api/v1/agent"\ntoken_file = "/t"\n',
      /^ship\.toml:2:1 hub\.url: must be the hub's address without \/api\/v1/,
    ],
  ])("%s", (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(expected);
  });

  it.each([
    ["missing value", "[general]\nstate_file = \n", "ship.toml:2:14 TOML: invalid value"],
    [
      "redefined table",
      '[hub]\nurl = "https://h"\n[hub]\n',
      "ship.toml:3:2 TOML: [hub] is defined twice (first at line 1): keep one, with all its keys (trying to redefine an already defined table or value)",
    ],
    [
      // The example ship.toml's hub block uncommented beside its timer-mode source, as its comment says.
      "a source table twice",
      '[sources.myapp]\ntype = "https"\napp_dir = "/opt/myapp"\n\n[hub]\nurl = "http://h"\n\n[ sources.myapp ]\ntype = "hub"\n',
      "ship.toml:8:2 TOML: [sources.myapp] is defined twice (first at line 1): keep one, with all its keys (trying to redefine an already defined table or value)",
    ],
    [
      "a key twice",
      '[general]\nstate_file = "/a"\nstate_file = "/b"\n',
      "ship.toml:3:1 TOML: state_file is set twice in its table (or is already a table): keep one (trying to redefine an already defined table or value)",
    ],
    [
      "a table a dotted key made",
      'general.state_file = "/a"\n[general]\n',
      "ship.toml:2:2 TOML: [general] is defined twice (already by a dotted key or an inline table above): keep one, with all its keys (trying to redefine an already defined table or value)",
    ],
    ["unterminated string", 'a = "x\n', /^ship\.toml:1:\d+ TOML: /],
  ])("TOML syntax error: %s", (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(expected);
  });

  it("label names a selector can name load: dots, slashes, digits, unicode letters", () => {
    const text =
      '[hub]\nurl = "https://h"\ntoken_file = "/t"\nlabels = { "app.kubernetes.io/name" = "web", zone_2 = "a b", "région" = "eu" }\n';
    const { config, warnings } = parseConfigText(text, F);
    expect(warnings).toEqual([]);
    expect(config.hub?.labels).toEqual({ "app.kubernetes.io/name": "web", zone_2: "a b", région: "eu" });
  });

  it("unknown keys are dropped so the rest loads", () => {
    const { config, warnings } = parseConfigText('[general]\nbackupdir = "/b"\nbackup_dir = "/c"\n', F);
    expect(config.general.backup_dir).toBe("/c");
    expect(warnings.map((w) => w.message)).toEqual([
      'unknown key "backupdir" (did you mean "backup_dir"?); ignored',
    ]);
  });
});

describe("loadConfigFile and secrets", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(text: string, mode: number): Promise<string> {
    const file = join(dir, "ship.toml");
    await writeFile(file, text);
    await chmod(file, mode);
    return file;
  }

  it("names headers given as a string by the key, never quoting the value (a credential)", () => {
    const text =
      '[general]\nstate_file = "/s.json"\nbackup_dir = "/b"\n[sources.a]\ntype = "https"\n' +
      'url = "https://x.example/a.tgz"\napp_dir = "/opt/a"\nheaders = "Authorization: Bearer s3cr3t"\n';
    const issues = issuesOf(text);
    expect(issues.join("\n")).not.toContain("s3cr3t");
    expect(issues.join("\n")).toContain(
      "sources.a.headers: must be a mapping (got a string, not quoted: it may carry a secret)",
    );
  });

  it("warns when a world-readable config holds headers, not when it is 0600", async () => {
    const text = await readFile(join(fixtures, "seed-ship.toml"), "utf8");
    const open = await loadConfigFile(await configFile(text, 0o644));
    expect(open.warnings.map(formatIssue)).toEqual([
      `warning: ${dir}/ship.toml:34:26 sources.release_archive.headers: holds secrets but ${dir}/ship.toml is readable by other users (mode 644); chmod 600 it`,
    ]);
    const closed = await loadConfigFile(await configFile(text, 0o600));
    expect(closed.warnings).toEqual([]);
  });

  it("refuses a config that others can write (it decides what runs as root), naming the file and mode", async () => {
    const text = '[sources.web]\ntype = "local"\npath = "/srv/rel"\napp_dir = "/srv/app"\n';
    for (const mode of [0o664, 0o646]) {
      const file = await configFile(text, mode);
      await expect(loadConfigFile(file)).rejects.toThrow(
        `${file} is writable by other users (mode ${mode.toString(8)}): anyone who can write it can add sources and [trust] keys of their own, and so code that ship runs; chmod go-w it`,
      );
    }
    expect((await loadConfigFile(await configFile(text, 0o644))).config.sources.web).toBeDefined();
  });

  it("warns when a world-readable config holds credentials in a URL, naming each key", async () => {
    const text = [
      "[hub]",
      'url = "https://hub.example:8443"',
      'token_file = "/etc/ship/hub.token"',
      "[sources.web]",
      'type = "https"\nurl = "https://cdn.example/app.tar.gz?X-Amz-Signature=abc"\napp_dir = "/a"',
      'checksum = "https://ci:pw@ci.example/app.tar.gz.sha256"',
      "[sources.repo]",
      'type = "git"\nlocal_path = "/srv/repo"\napp_dir = "/b"\nremote = "https://deploy:s3cret@git.example/app.git"',
      "[sources.plain]",
      'type = "https"\nurl = "https://cdn.example/plain.tar.gz"\napp_dir = "/c"',
    ].join("\n");
    const open = await loadConfigFile(await configFile(text, 0o644));
    expect(open.warnings.map((w) => w.path)).toEqual([
      "sources.web.url",
      "sources.web.checksum",
      "sources.repo.remote",
    ]);
    expect(open.warnings.map(formatIssue).join("\n")).not.toMatch(/s3cret|X-Amz-Signature=abc|ci:pw/);
    expect((await loadConfigFile(await configFile(text, 0o600))).warnings).toEqual([]);
  });

  it("does not warn about the login name of an ssh:// git remote (ssh authenticates with the key)", async () => {
    const text = [
      "[sources.repo]",
      'type = "git"\nlocal_path = "/srv/repo"\napp_dir = "/b"\nremote = "ssh://deploy@git.example:2222/srv/app.git"',
      "[sources.plus]",
      'type = "git"\nlocal_path = "/srv/plus"\napp_dir = "/c"\nremote = "git+ssh://git@git.example/app.git"',
      "[sources.token]",
      'type = "git"\nlocal_path = "/srv/token"\napp_dir = "/e"\nremote = "https://ghp_abc@git.example/app.git"',
    ].join("\n");
    const open = await loadConfigFile(await configFile(text, 0o644));
    // Over https a user alone may be a token (a password in an ssh URL is refused:
    // tests/integration/security/git-remote-password.test.ts).
    expect(open.warnings.map((w) => w.path)).toEqual(["sources.token.remote"]);
  });

  // `git clone https://user:TOKEN@host/…` keeps the token in the clone's config, which git makes 644.
  it("warns when a git source's clone keeps a remote URL with credentials where others can read it", async () => {
    const clone = join(dir, "clone");
    await mkdir(join(clone, ".git"), { recursive: true });
    const gitConfig = join(clone, ".git", "config");
    await writeFile(gitConfig, '[remote "origin"]\n\turl = https://deploy:glpat-abc@git.example/app.git\n');
    await chmod(gitConfig, 0o644);
    const file = await configFile(
      `[sources.web]\ntype = "git"\nlocal_path = "${clone}"\napp_dir = "/a"\n`,
      0o600,
    );
    expect((await loadConfigFile(file)).warnings.map(formatIssue)).toEqual([
      `warning: ${file}:3:1 sources.web.local_path: ${gitConfig} holds a remote URL with credentials and is readable by other users (mode 644); chmod 600 it, or set them in sources.web.remote or headers of this file instead`,
    ]);
    await chmod(gitConfig, 0o600);
    expect((await loadConfigFile(file)).warnings).toEqual([]);
    await writeFile(gitConfig, '[remote "origin"]\n\turl = https://git.example/app.git\n');
    await chmod(gitConfig, 0o644);
    expect((await loadConfigFile(file)).warnings).toEqual([]);
  });

  it("warns when the hub token or an SFTP passphrase file is readable by others", async () => {
    const token = join(dir, "hub.token");
    const pass = join(dir, "sftp.pass");
    await writeFile(token, "jwt");
    await writeFile(pass, "pw");
    await chmod(token, 0o640);
    await chmod(pass, 0o600);
    const text = [
      "[hub]",
      'url = "https://hub.example:8443"',
      `token_file = "${token}"`,
      "[sources.s]",
      'type = "sftp"\nhostname = "h"\nusername = "u"\nkey_filename = "/k"\nremote_path = "/r"\napp_dir = "/a"',
      `passphrase_file = "${pass}"`,
    ].join("\n");
    const file = await configFile(text, 0o600);
    const { warnings } = await loadConfigFile(file);
    expect(warnings.map(formatIssue)).toEqual([
      `warning: ${file}:3:1 hub.token_file: ${token} is readable by other users (mode 640); chmod 600 it`,
    ]);
    await chmod(pass, 0o604);
    expect((await loadConfigFile(file)).warnings.map((w) => w.path)).toEqual([
      "hub.token_file",
      "sources.s.passphrase_file",
    ]);
  });

  // Read as UTF-8 whatever it held, a Latin-1 `é` became U+FFFD: another app_dir, another password.
  it("a config that is not UTF-8 is refused naming where; UTF-16 is named; a UTF-8 byte-order mark loads", async () => {
    const text = '[sources.web]\ntype = "local"\npath = "/srv/rel"\napp_dir = "/srv/caf\u00e9"\n';
    const latin1 = join(dir, "latin1.toml");
    await writeFile(latin1, Buffer.from(text, "latin1"));
    await expect(loadConfigFile(latin1)).rejects.toThrow(
      `${latin1}:4:20 holds a byte that is not UTF-8 here (a file saved as Latin-1?): save it as UTF-8 (a TOML file is UTF-8)`,
    );
    const utf16 = join(dir, "utf16.toml");
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    await expect(loadConfigFile(utf16)).rejects.toThrow(
      `${utf16}:1:1 is UTF-16 text: save it as UTF-8 (a TOML file is UTF-8)`,
    );
    const bom = join(dir, "bom.toml");
    await writeFile(bom, `\uFEFF${text}`);
    expect((await loadConfigFile(bom)).config.sources.web?.app_dir).toBe("/srv/caf\u00e9");
  });

  it("a missing file is bad input naming it", async () => {
    await expect(loadConfigFile(join(dir, "nope.toml"))).rejects.toThrow(
      /nope\.toml .*cannot read the config/,
    );
  });
});
