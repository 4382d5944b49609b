/**
 * An update from an installed commit stages only what changed (git-stage.ts); a first install
 * exports the whole tree. A refusal on the staged path named the path alone (`web: big.bin: … is
 * over max_file_size_mb`), where the export's named the commit (`web: origin/main (1c412830434b):
 * entry "big.bin": …`): the operator could not tell which release held it. Now both paths name it
 * the same way. Real git, real CLI.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source: a refused update names the commit on either path", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;
  const ship = () => runShip(["--config", config]);
  const version = async () =>
    JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).sources.web.current_version;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-staged-refusal-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"');
    await appendFile(config, "\n[sources.web.security]\nmax_file_size_mb = 0.001\n");
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a file over max_file_size_mb: the staged update and the whole export give one message", async () => {
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.bin": "x".repeat(5000) });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const expected = `web: origin/main (${commit.slice(0, 12)}): entry "big.bin": 0.00 MB (5000 bytes) is over [sources.web.security] max_file_size_mb = 0.001`;

    const staged = await ship();
    expect(staged.code, staged.stdout + staged.stderr).toBe(2);
    expect(staged.stdout).toContain(expected);
    expect(await version()).toBe("1.0.0");
    expect(await readFile(join(app, "big.bin")).catch(() => "absent")).toBe("absent");

    // Nothing installed: the same release takes the whole-tree export, and says the same.
    await rm(join(root, "var"), { recursive: true });
    await rm(app, { recursive: true });
    await mkdir(app);
    const exported = await ship();
    expect(exported.code, exported.stdout + exported.stderr).toBe(2);
    expect(exported.stdout).toContain(expected);
  });
});
