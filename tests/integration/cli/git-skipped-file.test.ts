/**
 * A file a release skips (a `skip` rule, a protected directory) keeps the install index entry of
 * the release that last installed it. A later release that drops the rule, with the file unchanged
 * since the skipping commit, must install the commit's file: the update that writes only changed
 * blobs took the stale entry's word for what the commit holds and kept the old file, where a fresh
 * install of the same commit gives the new one.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos, writeGitConfig } from "../sources/git-repos.js";

describe.skipIf(!hasProgram("git"))("git: a file that was skipped, once the rule is gone", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-skipped-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const [label, rules, rel] of [
    ["a skip rule", 'files:\n  "conf/app.conf":\n    action: skip\n', "conf/app.conf"],
    ["a protected directory", "directories:\n  data:\n    preserve: true\n", "data/seed.txt"],
  ] as const) {
    it(`${label}: the next release installs the commit's file, as a fresh install does`, async () => {
      const base = join(root, label.replaceAll(" ", "-"));
      const repos: Repos = await makeRepos(join(base, "repos"));
      const commit = async (version: string, extra: string, files: Record<string, string>) => {
        const all = { ...files, "update-manifest.yaml": `version: "${version}"\n${extra}` };
        for (const [path, body] of Object.entries(all)) {
          await mkdir(dirname(join(repos.dev, path)), { recursive: true });
          await writeFile(join(repos.dev, path), body);
        }
        await git(repos.dev, "add", "-A");
        await git(repos.dev, "commit", "-q", "-m", version);
        await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      };
      const app = join(base, "agent/app");
      await mkdir(app, { recursive: true });
      const config = await writeGitConfig(join(base, "agent"), repos.clone, app, 'branch = "main"');
      const ship = async () => {
        const run = await runShip(["--config", config]);
        expect(run.code, run.stderr).toBe(0);
      };

      await commit("1.0.0", "", { [rel]: "one\n" });
      await ship();
      // 2.0.0 skips the file and changes it: the app keeps "one", and so does the index's entry.
      await commit("2.0.0", rules, { [rel]: "two\n" });
      await ship();
      expect(await readFile(join(app, rel), "utf8")).toBe("one\n");
      // 3.0.0 drops the rule and leaves the file as 2.0.0 has it.
      await commit("3.0.0", "", { "other.txt": "3\n" });
      await ship();

      const freshApp = join(base, "fresh/app");
      await mkdir(freshApp, { recursive: true });
      const fresh = await runShip([
        "--config",
        await writeGitConfig(join(base, "fresh"), repos.clone, freshApp, 'branch = "main"'),
      ]);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(await readFile(join(freshApp, rel), "utf8")).toBe("two\n");
      expect(await readFile(join(app, rel), "utf8")).toBe("two\n");
    });
  }
});
