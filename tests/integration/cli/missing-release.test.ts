/**
 * A source key naming something the server does not have — a git branch or tag (or a remote name
 * the clone does not have), an http(s) URL or
 * checksum URL answering 404, a local checksum file that is not there — is bad input: exit 2, one
 * line naming the config file the run read (here not called ship.toml: the sources' own errors
 * name their file "ship.toml" until the run puts in its --config path) and the key, and the app untouched. Before, a missing branch was git's
 * "couldn't find remote ref" behind exit 1, a 404 was "download failed" (exit 1, as if a retry could
 * help), a tag pattern matching nothing was "nothing to do" (exit 0), and a missing checksum file
 * was "internal error: ENOENT".
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";
import { git, makeRepos } from "../sources/git-repos.js";

describe("a source key naming what the server does not have", () => {
  let root: string;
  let app: string;
  let config: string;
  let server: TestServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-missing-"));
    app = join(root, "app");
    config = join(root, "staging.toml");
    await mkdir(app);
    await writeFile(join(app, "keep.txt"), "user\n");
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(root, { recursive: true, force: true });
  });

  const writeConfig = (source: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\napp_dir = "${app}"\n${source}`,
    );

  /** Both modes: the line names the key, exit 2, and the app is as it was. */
  const expectBadKey = async (key: string, said: RegExp) => {
    for (const args of [[], ["--check-only"]]) {
      const run = await runShip(["--config", config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
      const line = run.stdout.trim().split("\n").at(-1) ?? "";
      expect(line).toContain(`${config} sources.web.${key}: `);
      expect(line).toMatch(said);
      expect(line).not.toMatch(/internal error|couldn't find remote ref|ENOENT/);
      expect(await readdir(app)).toEqual(["keep.txt"]);
      // The run-start sync wrote an empty entry for the source (all nulls) and left it there.
      const state = await readFile(join(root, "var/state.json"), "utf8").catch(() => "{}");
      expect(JSON.parse(state).sources?.web).toBeUndefined();
    }
  };

  describe.skipIf(!hasProgram("git"))("git", () => {
    it("a branch the remote does not have", async () => {
      const repos = await makeRepos(join(root, "repos"));
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\nbranch = "nope"\n`);
      // The clone's remote by name and by the URL it has: "origin" alone says nothing of which server.
      await expectBadKey("branch", new RegExp(`the remote origin \\(${repos.bare}\\) has no branch "nope"`));
    });

    it("a tag pattern no tag of the remote matches", async () => {
      const repos = await makeRepos(join(root, "repos"));
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\ntag = "release-*"\n`);
      await expectBadKey(
        "tag",
        new RegExp(`no tag from the remote origin \\(${repos.bare}\\) matches "release-\\*"`),
      );
    });

    // "has no branch "v1.0.0"; its default branch is "main" (renamed?)" sent the operator after a
    // renamed branch, and a tag key naming a branch said only that no tag matches.
    it("a branch key naming a tag, and a tag key naming a branch: each says which key was meant", async () => {
      const repos = await makeRepos(join(root, "repos"));
      await git(repos.dev, "tag", "v1.0.0");
      await git(repos.dev, "push", "-q", "origin", "v1.0.0", "HEAD:refs/heads/release-2");
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\nbranch = "v1.0.0"\n`);
      await expectBadKey(
        "branch",
        /has no branch "v1\.0\.0", but a tag of that name: set tag = "v1\.0\.0" to install that tag \(or a pattern such as "v\*" to follow the newest release tag\), in place of branch$/,
      );
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\ntag = "main"\n`);
      await expectBadKey(
        "tag",
        /no tag from the remote origin \(\S+\) matches "main", but a branch of that name does: set branch = "main" \(and no tag\) to follow that branch$/,
      );
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\ntag = "release-*"\n`);
      await expectBadKey(
        "tag",
        /matches "release-\*", but branches do \(release-2\): tag names tags; set branch = "NAME" \(and no tag\) to follow a branch$/,
      );
    });

    it("a named remote whose URL holds credentials: a message names its URL with them masked", async () => {
      const repos = await makeRepos(join(root, "repos"));
      await git(
        repos.clone,
        "remote",
        "set-url",
        "origin",
        "http://deploy:s3cret@127.0.0.1:1/app.git?token=abc",
      );
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\n`);
      const run = await runShip(["--config", config, "--check-only"]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout + run.stderr).toContain(
        "web: download of origin (http://***@127.0.0.1:1/app.git?token=***) failed: cannot reach the git server at 127.0.0.1 port 1",
      );
      expect(run.stdout + run.stderr).not.toMatch(/s3cret|abc/);
    });

    // "git fetch failed: … does not appear to be a git repository", exit 1 on every run.
    it("a remote URL or path with no repository at it", async () => {
      const repos = await makeRepos(join(root, "repos"));
      const gone = join(root, "moved-away.git");
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\nremote = "${gone}"\n`);
      await expectBadKey("remote", new RegExp(`${gone} has no repository \\(git: '${gone}' does not appear`));
    });

    // git said "'upstream' does not appear to be a git repository": exit 1, "download failed".
    it("a remote name the clone does not have", async () => {
      const repos = await makeRepos(join(root, "repos"));
      await writeConfig(`type = "git"\nlocal_path = "${repos.clone}"\nremote = "upstream"\n`);
      await expectBadKey(
        "remote",
        /the clone at \S+ has no remote "upstream" \(its remotes: origin\); name one of them or give the repository's URL/,
      );
    });
  });

  describe("http", () => {
    const archive = gzipSync(
      buildTar([
        { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
        { path: "app.txt", body: "v1\n" },
      ]),
    );
    const sha = createHash("sha256").update(archive).digest("hex");
    const serve = async (files: Record<string, Buffer | string>, status = 404) => {
      server = await startHttpServer((req, res) => {
        const body = files[req.url ?? ""];
        if (body === undefined) res.writeHead(status).end();
        else res.writeHead(200).end(body);
      });
      return server.url;
    };

    it.each([404, 410])("a url answering %i", async (status) => {
      const url = await serve({}, status);
      await writeConfig(`type = "http"\nurl = "${url}/app-1.0.0.tar.gz"\n`);
      await expectBadKey(
        "url",
        new RegExp(`/app-1\\.0\\.0\\.tar\\.gz is not on the server \\(HTTP ${status}\\)`),
      );
    });

    // "download of … failed: HTTP 401", exit 1 on every run, as if a retry could bring the token.
    it("a url answering 401 or 403: the credentials (or their absence) are the bad input", async () => {
      const url = await serve({}, 401);
      await writeConfig(`type = "http"\nurl = "${url}/app.tar.gz"\n`);
      await expectBadKey(
        "url",
        /app\.tar\.gz refused the request \(HTTP 401\): it needs credentials; set them in \[sources\.web\.headers\]/,
      );
      await server?.close();
      const forbidden = await serve({}, 403);
      await writeConfig(
        `type = "http"\nurl = "${forbidden}/app.tar.gz"\n[sources.web.headers]\nX-Api-Key = "expired"\n`,
      );
      await expectBadKey(
        "headers",
        /app\.tar\.gz refused the credentials sent \(HTTP 403; headers X-Api-Key\): check or renew them/,
      );
    });

    // Node's "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1": a bare errno in the run's one line.
    it("a server that cannot be reached is exit 1 said in words", async () => {
      await writeConfig(`type = "http"\nurl = "http://127.0.0.1:1/app.tar.gz"\nretries = 0\n`);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout.trim()).toBe(
        "web: download of http://127.0.0.1:1/app.tar.gz failed: connection refused (ECONNREFUSED)",
      );
    });

    it("a checksum URL answering 404 (the archive is there)", async () => {
      const url = await serve({ "/app.tar.gz": archive });
      await writeConfig(`type = "http"\nurl = "${url}/app.tar.gz"\nchecksum = "${url}/app.tar.gz.sha256"\n`);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toContain(`${config} sources.web.checksum: `);
      expect(run.stdout).toMatch(/checksum: .*app\.tar\.gz\.sha256 is not on the server \(HTTP 404\)/);
      expect(await readdir(app)).toEqual(["keep.txt"]);
    });

    it("a local checksum file that is not there, or too large to be one", async () => {
      const url = await serve({ "/app.tar.gz": archive });
      const sums = join(root, "app.tar.gz.sha256");
      await writeConfig(`type = "http"\nurl = "${url}/app.tar.gz"\nchecksum = "${sums}"\n`);
      let run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `sources.web.checksum: cannot read ${sums}: no such file or directory (ENOENT)`,
      );
      expect(run.stderr).toMatch(new RegExp(`${config}:\\d+:\\d+ sources\\.web\\.checksum: `));
      await writeFile(sums, `${sha}  app.tar.gz\n${"#".repeat(70_000)}\n`);
      run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toContain(
        `${sums}: is larger than 64 KiB (65536 bytes), the most a checksum or signature file may hold: not a checksum file`,
      );
      expect(await readdir(app)).toEqual(["keep.txt"]);
      await writeFile(sums, `${sha}  app.tar.gz\n`);
      run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
    });
  });

  it("local: an archive's checksum file that is not there", async () => {
    const path = join(root, "app.tar.gz");
    await writeFile(path, gzipSync(buildTar([{ path: "update-manifest.yaml", body: 'version: "1.0.0"\n' }])));
    await writeConfig(`type = "local"\npath = "${path}"\nchecksum = "${root}/none.sha256"\n`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`sources.web.checksum: cannot read ${root}/none.sha256: no such file`);
    expect(run.stderr).toMatch(new RegExp(`${config}:\\d+:\\d+ sources\\.web\\.checksum: `));
    expect(await readdir(app)).toEqual(["keep.txt"]);
  });
});
