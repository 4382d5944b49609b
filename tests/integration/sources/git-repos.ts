/** Real git repositories for source tests: a bare "origin", a developer clone that pushes, and the agent's clone. */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { copyTree } from "../../support/built-once.js";
import { runTemplatePrefix } from "../../support/run-template.js";

const run = promisify(execFile);
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "dev",
  GIT_AUTHOR_EMAIL: "dev@example.com",
  GIT_COMMITTER_NAME: "dev",
  GIT_COMMITTER_EMAIL: "dev@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", ["-c", "init.defaultBranch=main", ...args], { cwd, env: ENV });
  return stdout.trim();
}

export interface Repos {
  bare: string;
  dev: string;
  /** The agent's clone (local_path). */
  clone: string;
}

/**
 * origin.git with one commit (version 1.0.0), a dev clone, and the agent's clone of it: a private
 * copy of a set built once per test process. Building them is eight git runs (two clones, a push:
 * ~0.9 s of a loaded CI machine), a copy one cp and two (~0.45 s), and a run makes them some fifty times.
 * The copy's commits are the template's (one sha for 1.0.0 across a fork's tests); each test still
 * owns its repositories, and what it commits or tags after is its own.
 */
export async function makeRepos(root: string): Promise<Repos> {
  return copyRepos(await reposOnce(), root);
}

let built: Promise<Repos> | undefined;

function reposOnce(): Promise<Repos> {
  // Removed by tests/support/global-setup.ts when the run ends (the fork's parent is the runner).
  built ??= mkdtemp(join(tmpdir(), runTemplatePrefix("git", process.ppid))).then(buildRepos);
  // A failed build is tried again by the next test, not remembered for the whole run.
  built.catch(() => {
    built = undefined;
  });
  return built;
}

async function buildRepos(root: string): Promise<Repos> {
  const bare = join(root, "origin.git");
  const dev = join(root, "dev");
  const clone = join(root, "clone");
  await mkdir(bare, { recursive: true });
  await git(bare, "init", "--bare", "-q");
  await git(root, "clone", "-q", bare, dev);
  await commitFiles(dev, "1.0.0", { "app.txt": "v1\n", "config/settings.toml": "x = 1\n" });
  await git(dev, "push", "-q", "origin", "HEAD:main");
  await git(root, "clone", "-q", "--branch", "main", bare, clone);
  // git init's sample hooks (inactive: *.sample) are half the files every test copies.
  for (const hooks of [join(bare, "hooks"), join(dev, ".git/hooks"), join(clone, ".git/hooks")])
    for (const name of await readdir(hooks)) if (name.endsWith(".sample")) await rm(join(hooks, name));
  return { bare, dev, clone };
}

/** A private copy of `template` under `root` (cheaper than building the repos again). */
export async function copyRepos(template: Repos, root: string): Promise<Repos> {
  await copyTree(dirname(template.bare), root);
  const repos = { bare: join(root, "origin.git"), dev: join(root, "dev"), clone: join(root, "clone") };
  await git(repos.dev, "remote", "set-url", "origin", repos.bare);
  await git(repos.clone, "remote", "set-url", "origin", repos.bare);
  return repos;
}

/** Commit `files` plus a manifest for `version` in `repo`; returns the commit sha. */
export async function commitFiles(
  repo: string,
  version: string,
  files: Record<string, string>,
): Promise<string> {
  const all = { ...files, "update-manifest.yaml": `version: "${version}"\n` };
  for (const [path, body] of Object.entries(all)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), body);
  }
  await git(repo, "add", "-A");
  await git(repo, "commit", "-q", "-m", `release ${version}`);
  return git(repo, "rev-parse", "HEAD");
}

/**
 * A ship.toml at `root`/ship.toml whose one source `web` installs `clone` into `app` (state and
 * backups under `root`/var); `mode` is the source's branch or tag line, e.g. `branch = "main"`.
 */
export async function writeGitConfig(
  root: string,
  clone: string,
  app: string,
  mode: string,
): Promise<string> {
  const config = join(root, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.web]\ntype = "git"\nlocal_path = "${clone}"\napp_dir = "${app}"\n${mode}\n`,
  );
  return config;
}
