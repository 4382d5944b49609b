/**
 * A git release's file modes do not depend on the clone's git config. The first install exports
 * the whole tree (`git archive`, whose modes follow `tar.umask`); later updates write only the
 * changed blobs with git's default modes (664/775). A clone with `tar.umask = 0022` made the two
 * disagree: under `permissions.umask: "000"` an update rewrote every unchanged file for its mode and
 * installed 664 where a fresh install of the same commit gives 644.
 */
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos, writeGitConfig } from "../sources/git-repos.js";

const manifest = (version: string) => `version: "${version}"\npermissions:\n  umask: "000"\n`;

/** Each file's mode under `dir`. */
async function modes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const st = await lstat(join(dir, name));
    if (st.isFile()) out[name] = (st.mode & 0o777).toString(8);
  }
  return out;
}

/** The "applied update" line's counts. */
function applied(stderr: string): { replace: number; keep: number } {
  const line = stderr.split("\n").find((l) => l.includes('"msg":"applied update"'));
  if (line === undefined) throw new Error(`no update applied:\n${stderr}`);
  return JSON.parse(line) as { replace: number; keep: number };
}

describe.skipIf(!hasProgram("git"))("git release modes whatever the clone's tar.umask", () => {
  let root: string;
  let repos: Repos;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-modes-"));
    repos = await makeRepos(join(root, "repos"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a staged update installs the modes a full export of the same commit gives", async () => {
    const commit = async (version: string, files: Record<string, string>) => {
      for (const [rel, body] of Object.entries({ ...files, "update-manifest.yaml": manifest(version) }))
        await writeFile(join(repos.dev, rel), body);
      await git(repos.dev, "add", "-A");
      await git(repos.dev, "commit", "-q", "-m", version);
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    };
    await commit("1.0.0", { "a.txt": "a1\n", "b.txt": "b1\n" });
    await git(repos.clone, "config", "tar.umask", "0022");
    const app = join(root, "agent/app");
    await mkdir(app, { recursive: true });
    const config = await writeGitConfig(join(root, "agent"), repos.clone, app, 'branch = "main"');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stderr).toBe(0);

    await commit("2.0.0", { "a.txt": "a2\n" });
    const update = await runShip(["--config", config]);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).toContain("staged release changes");
    // Only the changed file; the unchanged ones stay as they are.
    expect(applied(update.stderr)).toMatchObject({ replace: 1 });

    const freshApp = join(root, "fresh/app");
    await mkdir(freshApp, { recursive: true });
    const fresh = await runShip([
      "--config",
      await writeGitConfig(join(root, "fresh"), repos.clone, freshApp, 'branch = "main"'),
    ]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(await modes(app)).toEqual(await modes(freshApp));
  });
});
