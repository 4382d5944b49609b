/**
 * A git `remote` URL with user:password@ (a token as the password, as GitLab hands them out) or
 * with the token alone as its user (`https://TOKEN@host/…`, GitHub's and Gitea's form) against a
 * real `git http-backend` behind an HTTP server demanding Basic auth. While git talks to
 * the server, no process's command line may hold the token: before, it was on `git fetch`'s argv
 * and on git-remote-http's, where `ps` shows it to every local user.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startWatchedGitServer } from "../../support/command-lines.js";
import { hasProgram } from "../../support/require-program.js";
import { GIT_HTTP_BACKEND } from "../../support/servers/git-http.js";
import type { TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos } from "../sources/git-repos.js";

const USER = "deploy";
const TOKEN = "glpat-s3cretT0kenValue";

/** How the remote spells its credentials, and the Basic pair the server is to receive. */
const forms = [
  { form: "user:token@", userinfo: (token: string) => `${USER}:${token}`, basic: `${USER}:${TOKEN}` },
  // The token alone went on git's command line as written, and git then asked for a password.
  { form: "token@ alone", userinfo: (token: string) => token, basic: `${TOKEN}:` },
  // `remote` left at origin, of a clone made with `git clone https://user:TOKEN@host/…`: git put
  // the clone's URL on the command line of the git-remote-http it starts for each fetch.
  {
    form: "user:token@ in the clone's origin",
    userinfo: (token: string) => `${USER}:${token}`,
    basic: `${USER}:${TOKEN}`,
    cloned: true,
  },
];

describe.skipIf(!hasProgram("git") || !existsSync(GIT_HTTP_BACKEND)).each(forms)(
  "git remote with $form over http (real git http-backend, Basic auth)",
  ({ userinfo, basic, cloned }) => {
    let root: string;
    let repos: Repos;
    let server: TestServer;
    let seen: string[];
    let authorized: () => number;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "ship-git-cred-"));
      repos = await makeRepos(join(root, "repos"));
      ({ server, seen, authorized } = await startWatchedGitServer(dirname(repos.bare), basic, TOKEN));
    });
    const remoteUrl = (token: string) =>
      `${server.url.replace("http://", `http://${userinfo(token)}@`)}/origin.git`;
    afterEach(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });

    it("fetches and installs with the token, which is on no command line, in no output and in no credential store", async () => {
      const app = join(root, "app");
      const home = join(root, "home");
      await mkdir(app);
      await mkdir(home);
      // An operator's global `store` helper must not receive ship's token.
      await writeFile(join(home, ".gitconfig"), "[credential]\n\thelper = store\n");
      const config = join(root, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "git"\nlocal_path = "${repos.clone}"\napp_dir = "${app}"\n` +
          (cloned ? "" : `remote = "${remoteUrl(TOKEN)}"\n`),
      );
      if (cloned) await git(repos.clone, "remote", "set-url", "origin", remoteUrl(TOKEN));
      const run = await runShip(["--config", config, "--verbose"], { env: { HOME: home } });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
      expect(authorized()).toBeGreaterThan(0);
      expect(seen).toEqual([]);
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      expect(await readdir(home)).toEqual([".gitconfig"]);
      if (!cloned) expect(await readFile(join(repos.clone, ".git/config"), "utf8")).not.toContain(TOKEN);
    });

    it.runIf(!cloned)("a wrong token fails naming the remote with the credentials masked", async () => {
      const app = join(root, "app");
      await mkdir(app);
      const config = join(root, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "git"\nlocal_path = "${repos.clone}"\napp_dir = "${app}"\n` +
          `remote = "${remoteUrl(`wrong-${TOKEN}`)}"\n`,
      );
      const run = await runShip(["--config", config]);
      // Bad input naming the key (a retry never brings the right password), not exit 1.
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toMatch(
        /sources\.web\.remote: http:\/\/\*\*\*@127\.0\.0\.1:\d+\/origin\.git refused the credentials in the URL \(user:password@ or a token as the user\): check or renew them/,
      );
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      expect(seen).toEqual([]);
      expect(await readdir(app)).toEqual([]);
    });
  },
);
