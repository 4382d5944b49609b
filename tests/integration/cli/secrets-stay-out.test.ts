/**
 * Credentials an operator puts into URLs (user:password@, query tokens) never reach what ship writes
 * down: log lines, --json output, error messages, state and metadata files. Real `ship` and
 * `ship-hub` processes, a real HTTP server, a real git.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hasProgram } from "../../support/require-program.js";
import { freePort } from "../../support/servers/free-port.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";

const SECRETS = ["URLPASSWORD", "QUERYTOKEN", "HEADERTOKEN"];

/** Every file under `dir`, with its content, for a grep. */
async function allFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path, await readFile(path, "utf8"));
  }
  return out;
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) expect(text, `${where} holds ${secret}`).not.toContain(secret);
}

describe("secrets in URLs stay out of logs, output and state", () => {
  let root: string;
  let server: TestServer | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-secrets-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it("an http source with user:password@ and a query token: state, metadata, log and --json hold neither", async () => {
    const src = join(root, "release");
    await mkdir(src);
    await writeFile(join(src, "app.py"), "print(1)\n");
    const out = join(root, "dist");
    const built = await runShip(["release", "-C", src, "http", "1.0.0", "r", "--app", "myapp", "--out", out]);
    expect(built.code, built.stderr).toBe(0);
    const archive = await readFile(join(out, "myapp-1.0.0.tar.gz"));
    server = await startHttpServer((req, res) => {
      if ((req.url ?? "").startsWith("/rel/myapp.tar.gz?")) {
        if (req.headers["if-none-match"] === '"v1"') res.writeHead(304).end();
        else res.writeHead(200, { etag: '"v1"' }).end(archive);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    const url = server.url.replace("http://", "http://deploy:URLPASSWORD@");
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]
state_file = "${root}/var/state.json"
backup_dir = "${root}/var/backups"
min_interval_hours = 0
[general.logging]
level = "DEBUG"
file = "${root}/var/ship.log"
[sources.myapp]
type = "http"
url = "${url}/rel/myapp.tar.gz?token=QUERYTOKEN"
app_dir = "${root}/app"
metadata_file = "${root}/var/http-metadata.json"
[sources.myapp.headers]
Authorization = "Bearer HEADERTOKEN"
`,
      { mode: 0o600 },
    );
    const run = await runShip(["--config", config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expectNoSecret("--json output", run.stdout + run.stderr);
    // The server did get them: they were used, just never written down.
    expect(server.requests.some((r) => r.headers.authorization === "Bearer HEADERTOKEN")).toBe(true);
    for (const [path, text] of await allFiles(join(root, "var"))) expectNoSecret(path, text);
    // The next run still knows the release is installed (the metadata matched the URL).
    const again = await runShip(["--config", config, "--check-only", "--json"]);
    expect(again.code, again.stdout).toBe(0);
    expectNoSecret("--check-only output", again.stdout + again.stderr);
  });

  it("webhook and slack URLs and headers from the manifest: never logged, and kept only in files no other user reads", async () => {
    const hooks: string[] = [];
    server = await startHttpServer((req, res) => {
      hooks.push(req.url ?? "");
      res.writeHead(req.url?.includes("fail") ? 500 : 200).end("ok");
    });
    const release = join(root, "release");
    await mkdir(release);
    await writeFile(join(release, "app.py"), "print(1)\n");
    await writeFile(
      join(release, "update-manifest.yaml"),
      `version: "1.0.0"
notifications:
  on_success:
    - type: webhook
      url: "${server.url}/hooks/URLPASSWORD?key=QUERYTOKEN"
      headers: { Authorization: "Bearer HEADERTOKEN" }
    - type: webhook
      url: "${server.url}/fail/URLPASSWORD"
    - type: slack
      url: "${server.url}/services/T0/B0/QUERYTOKEN"
`,
    );
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]
state_file = "${root}/var/state.json"
backup_dir = "${root}/var/backups"
min_interval_hours = 0
[general.logging]
level = "DEBUG"
file = "${root}/var/ship.log"
[sources.myapp]
type = "local"
path = "${release}"
app_dir = "${root}/app"
`,
    );
    const run = await runShip(["--config", config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(hooks).toHaveLength(4); // the failing one is retried once
    expectNoSecret("--json output", run.stdout + run.stderr);
    const files = await allFiles(join(root, "var"));
    expect(files.get(join(root, "var/ship.log"))).toContain("notification could not be delivered");
    for (const [path, text] of files) {
      if (SECRETS.some((secret) => text.includes(secret)))
        expect((await stat(path)).mode & 0o077, `${path} is readable by others`).toBe(0);
    }
  });

  it.skipIf(!hasProgram("git"))(
    "a git remote with a query token that cannot be reached: the error names the remote without the token",
    async () => {
      const port = await freePort();
      const config = join(root, "ship.toml");
      await writeFile(
        config,
        `[general]
state_file = "${root}/var/state.json"
backup_dir = "${root}/var/backups"
min_interval_hours = 0
[sources.g]
type = "git"
local_path = "${root}/clone"
remote = "http://deploy:URLPASSWORD@127.0.0.1:${port}/repo.git?token=QUERYTOKEN"
app_dir = "${root}/app"
branch = "main"
`,
      );
      const init = spawn("git", ["init", "-q", join(root, "clone")]);
      await new Promise((ok) => init.on("close", ok));
      const run = await runShip(["--config", config, "--json"]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`cannot reach the git server at 127.0.0.1 port ${port}`);
      expectNoSecret("output", run.stdout + run.stderr);
      expectNoSecret("state", await readFile(join(root, "var/state.json"), "utf8"));
    },
  );

  // The [hub] url follows the rule both CLIs apply to --hub: credentials in it are refused (the
  // agent authenticates with its token), and the refusal does not echo them.
  it("ship agent refuses a [hub] url carrying credentials, without echoing them", async () => {
    const port = await freePort();
    await writeFile(join(root, "hub.token"), "not.checked.here", { mode: 0o600 });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]
state_file = "${root}/var/state.json"
backup_dir = "${root}/var/backups"
[hub]
url = "http://proxy:URLPASSWORD@127.0.0.1:${port}"
token_file = "${root}/hub.token"
agent_id = "a1"
[sources.myapp]
type = "hub"
app_dir = "${root}/app"
`,
    );
    const run = await runShip(["agent", "--config", config], { timeoutMs: 20_000 });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain("hub.url");
    expectNoSecret("ship agent's refusal", run.stdout + run.stderr);
  });

  it("ship-hub and ship release publish refuse a --hub with credentials or no URL at all, without echoing it", async () => {
    requireHubBin();
    const token = join(root, "op.token");
    await writeFile(token, "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3BlcmF0b3IifQ.c2ln", { mode: 0o600 });
    const hub = await runHubCli(root, [
      "agents",
      "--hub",
      "http://u:URLPASSWORD@127.0.0.1:1",
      "--token-file",
      token,
    ]);
    expect(hub.code).toBe(2);
    expect(hub.stderr).toContain("--hub");
    expectNoSecret("ship-hub's error", hub.stdout + hub.stderr);

    const archive = join(root, "a.tar.gz");
    await writeFile(archive, "");
    for (const bad of ["not a url", "ftp://127.0.0.1:1", "http://u:URLPASSWORD@127.0.0.1:1"]) {
      const published = await runShip([
        "release",
        "publish",
        "--hub",
        bad,
        "--token-file",
        token,
        "--app",
        "myapp",
        "--version",
        "1.0.0",
        "--url",
        "http://127.0.0.1:1/a.tar.gz",
        "--sha256",
        "0".repeat(64),
        "--manifest",
        archive,
      ]);
      expect(published.code, `${bad}: ${published.stderr}`).toBe(2);
      expect(published.stderr).toContain("--hub");
      expectNoSecret("publish's error", published.stdout + published.stderr);
    }
    expect((await stat(token)).mode & 0o777).toBe(0o600);
  });
});
