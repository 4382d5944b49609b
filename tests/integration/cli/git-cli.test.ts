/**
 * The git source as an operator runs it: the real CLI against a real bare repository on file://.
 * What is installed is decided by ship's install index, never by the clone's HEAD.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, copyRepos, git, makeRepos, type Repos } from "../sources/git-repos.js";

describe.skipIf(!hasProgram("git"))("ship CLI with a git source (real clone, file:// remote)", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;

  const writeConfig = (extra: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "git"\nlocal_path = "${repos.clone}"\napp_dir = "${app}"\n${extra}`,
    );
  const ship = async (...args: string[]) => runShip(["--config", config, ...args]);
  const state = async () => JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));

  let templateRoot: string;
  let template: Repos;
  beforeAll(async () => {
    templateRoot = await mkdtemp(join(tmpdir(), "ship-git-cli-template-"));
    // The release is made (and tagged) first; the agent's clone is a plain `git clone` made after it.
    template = await makeRepos(join(templateRoot, "repos"));
    await git(template.dev, "tag", "v1.0.0");
    await git(template.dev, "push", "-q", "origin", "--tags");
    await git(template.clone, "fetch", "-q", "--tags");
  });
  afterAll(async () => {
    if (templateRoot) await rm(templateRoot, { recursive: true, force: true });
  });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-cli-"));
    // Each test its own copy of those repos (a dozen git runs fewer than making them again).
    repos = await copyRepos(template, join(root, "repos"));
    config = join(root, "ship.toml");
    app = join(root, "app");
    await mkdir(app);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["branch", 'branch = "main"\n'],
    ["tag", 'tag = "v*"\n'],
  ])("a fresh clone installs into an empty app_dir (%s mode)", async (_mode, extra) => {
    await writeConfig(extra);
    const check = await ship("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("(nothing installed)");

    const run = await ship();
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
    expect((await state()).sources.web.current_version).toBe("1.0.0");

    const again = await ship("--check-only");
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain("up to date (1.0.0");
  });

  /** The run's log lines at ERROR (50) or above: an update that worked must not leave one. */
  const errorLines = (stderr: string) => stderr.split("\n").filter((l) => /"level":(50|60)/.test(l));
  /** Runs ship, which must install `app.txt` = `text` with exit 0 and no ERROR line. */
  const installsCleanly = async (text: string) => {
    const run = await ship();
    expect(run.code, run.stderr).toBe(0);
    expect(errorLines(run.stderr)).toEqual([]);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe(text);
  };
  const pushV2 = async () => {
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
  };

  it("a clone whose HEAD names a branch the remote does not have (git init --bare's default) installs, follows the release and logs no error", async () => {
    // origin's HEAD says master, CI pushed main: `git clone` warns and checks nothing out (HEAD unborn).
    await git(repos.bare, "symbolic-ref", "HEAD", "refs/heads/master");
    await rm(repos.clone, { recursive: true, force: true });
    await git(root, "clone", "-q", repos.bare, repos.clone);
    await expect(git(repos.clone, "rev-parse", "--verify", "-q", "HEAD")).rejects.toThrow();
    await writeConfig('branch = "main"\n');

    await installsCleanly("v1\n");
    const v1 = await git(repos.dev, "rev-parse", "HEAD");
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v1);
    expect(await readFile(join(repos.clone, "app.txt"), "utf8")).toBe("v1\n");

    await pushV2();
    await installsCleanly("v2\n");
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(await git(repos.dev, "rev-parse", "HEAD"));
  });

  it("a bare repository as local_path installs and updates without logging an error", async () => {
    await rm(repos.clone, { recursive: true, force: true });
    await git(root, "clone", "-q", "--bare", repos.bare, repos.clone);
    await writeConfig('branch = "main"\n');
    await installsCleanly("v1\n");

    await pushV2();
    await installsCleanly("v2\n");
    expect((await ship("--check-only")).code).toBe(0);
  });

  // A force-pushed tag was installed as "updated 1.0.0 → 1.0.0": other code under a released version.
  it("tag mode: a tag moved after it was installed is refused (exit 2), and a new version tag installs", async () => {
    await writeConfig('tag = "v*"\n');
    expect((await ship()).code).toBe(0);
    const installed = await git(repos.dev, "rev-parse", "HEAD");
    const moved = await commitFiles(repos.dev, "1.0.0", { "app.txt": "v1, changed\n" });
    await git(repos.dev, "tag", "-f", "v1.0.0");
    await git(repos.dev, "push", "-q", "-f", "origin", "v1.0.0");
    const said = `web: git tag v1.0.0: moved: it points to ${moved.slice(0, 12)}, but version 1.0.0 was installed here from ${installed.slice(0, 12)}; a released version must not change: tag the new commit with a new version`;
    for (const args of [[], ["--check-only"]]) {
      const run = await ship(...args);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toContain(said);
    }
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
    await commitFiles(repos.dev, "1.0.1", { "app.txt": "v1.0.1\n" });
    await git(repos.dev, "tag", "v1.0.1");
    await git(repos.dev, "push", "-q", "origin", "v1.0.1");
    const next = await ship();
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1.0.1\n");
  });

  it("after --rollback the newer release is offered again and reinstalled", async () => {
    await writeConfig('tag = "v*"\n');
    expect((await ship()).code).toBe(0);
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "tag", "v2.0.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v2\n");

    const backups = JSON.parse((await ship("--list-backups", "--json")).stdout) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = backups.find((b) => b.version === "1.0.0");
    expect(toV1).toBeDefined();
    const rollback = await ship("--rollback", toV1?.id ?? "");
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");

    const check = await ship("--check-only");
    expect(check.code, check.stdout).toBe(100);
    expect(check.stdout).toContain("update available 1.0.0 -> v2.0.0");
    expect(check.stdout).not.toContain("up to date");

    const reinstall = await ship();
    expect(reinstall.code, reinstall.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v2\n");
    expect((await ship("--check-only")).code).toBe(0);
  });

  it("with the clone as the app (local_path == app_dir, the seed's example), --rollback moves HEAD back too: git status is clean", async () => {
    app = repos.clone;
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "git"\nlocal_path = "${repos.clone}"\napp_dir = "${repos.clone}"\ntag = "v*"\n`,
    );
    expect((await ship()).code).toBe(0);
    const v1 = await git(repos.clone, "rev-parse", "HEAD");
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "tag", "v2.0.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    expect((await ship()).code).toBe(0);
    expect(await git(repos.clone, "rev-parse", "HEAD")).not.toBe(v1);
    // The manifest too: the clone's copy is the installed commit's (it said 1.0.0 after 2.0.0).
    const status = async () => git(repos.clone, "status", "--porcelain");
    expect(await status()).toBe("");

    const backups = JSON.parse((await ship("--list-backups", "--json")).stdout) as {
      id: string;
      version: string | null;
    }[];
    const rollback = await ship("--rollback", backups.find((b) => b.version === "1.0.0")?.id ?? "");
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(repos.clone, "app.txt"), "utf8")).toBe("v1\n");
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v1);
    expect(await status()).toBe("");
    // And the newer release is offered again.
    expect((await ship("--check-only")).code).toBe(100);
  });

  describe("with the clone as the app (local_path == app_dir)", () => {
    const cloneAsApp = async () => {
      app = repos.clone;
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "git"\nlocal_path = "${repos.clone}"\napp_dir = "${repos.clone}"\nbranch = "main"\n`,
      );
      expect((await ship()).code).toBe(0);
    };
    const status = async () => git(repos.clone, "status", "--porcelain");

    it("what ship chose not to install (a preserved directory, a skip rule, a merged config) and the manifest do not show in git status; a person's edit does", async () => {
      await cloneAsApp();
      const manifest = (version: string) =>
        `version: "${version}"\ndirectories:\n  data:\n    preserve: true\nfiles:\n  "conf.local":\n    action: skip\n  "settings.json":\n    action: merge_json\n`;
      const release = async (version: string, files: Record<string, string>) => {
        for (const [path, body] of Object.entries({ ...files, "update-manifest.yaml": manifest(version) })) {
          await mkdir(join(repos.dev, path, ".."), { recursive: true });
          await writeFile(join(repos.dev, path), body);
        }
        await git(repos.dev, "add", "-A");
        await git(repos.dev, "commit", "-q", "-m", `release ${version}`);
        await git(repos.dev, "push", "-q", "origin", "HEAD:main");
        const run = await ship();
        expect(run.code, run.stdout + run.stderr).toBe(0);
      };
      await release("1.5.0", {
        "data/seed.txt": "seed 1\n",
        "conf.local": "c1\n",
        "settings.json": '{"a": 1, "b": 1}\n',
      });
      expect(await status()).toBe("");
      // The user's own value in the merged config.
      await writeFile(join(repos.clone, "settings.json"), '{"a": 5, "b": 1}\n');
      await release("2.0.0", {
        "app.txt": "v2\n",
        "data/seed.txt": "seed 2\n",
        "data/new.txt": "new\n",
        "conf.local": "c2\n",
        "settings.json": '{"a": 1, "b": 2, "c": 3}\n',
      });
      // Before: " M update-manifest.yaml", " D data/new.txt", " M data/seed.txt", " M conf.local", " M settings.json".
      expect(await status()).toBe("");
      expect(await readFile(join(repos.clone, "update-manifest.yaml"), "utf8")).toContain('version: "2.0.0"');
      expect(await readFile(join(repos.clone, "data/seed.txt"), "utf8")).toBe("seed 1\n");
      await writeFile(join(repos.clone, "app.txt"), "hand edit\n");
      expect(await status()).toBe("M app.txt");

      // A release that installs a file it once skipped shows edits to it again.
      await git(repos.clone, "checkout", "-q", "--", "app.txt");
      await writeFile(join(repos.dev, "update-manifest.yaml"), 'version: "3.0.0"\n');
      await git(repos.dev, "commit", "-q", "-am", "release 3.0.0");
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      expect((await ship()).code).toBe(0);
      expect(await readFile(join(repos.clone, "conf.local"), "utf8")).toBe("c2\n");
      await writeFile(join(repos.clone, "conf.local"), "hand edit\n");
      expect(await status()).toBe("M conf.local");
    });

    it("an automatic restore (failing health check) leaves HEAD on the installed commit: git status is clean", async () => {
      await cloneAsApp();
      const v1 = await git(repos.clone, "rev-parse", "HEAD");
      await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n", "new.txt": "new\n" });
      await writeFile(
        join(repos.dev, "update-manifest.yaml"),
        'version: "2.0.0"\npost_update_tests:\n  - name: health\n    command: "false"\n',
      );
      await git(repos.dev, "commit", "-q", "-am", "failing health check");
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const failed = await ship();
      expect(failed.code, failed.stdout + failed.stderr).toBe(1);
      expect(failed.stdout).toContain("restored the previous version");
      expect(await readFile(join(repos.clone, "app.txt"), "utf8")).toBe("v1\n");
      expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v1);
      expect(await status()).toBe("");
      expect(await git(repos.clone, "status", "--porcelain", "--ignored", "--", "new.txt")).toBe("");
    });

    it("a HEAD the update could not move (a person's git held index.lock) is moved by the next run", async () => {
      await cloneAsApp();
      const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const lock = join(repos.clone, ".git/index.lock");
      await writeFile(lock, "");
      const update = await ship();
      expect(update.code, update.stderr).toBe(0);
      expect(await readFile(join(repos.clone, "app.txt"), "utf8")).toBe("v2\n");
      expect(await git(repos.clone, "rev-parse", "HEAD")).not.toBe(v2);
      await rm(lock);
      // Before: "up to date" and HEAD left on 1.0.0 for good, `git status` showing app.txt modified.
      const next = await ship();
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout).toContain("up to date (2.0.0");
      expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v2);
      expect(await status()).toBe("");
    });
  });

  it("a submodule is installed neither on the first install nor by a staged update, and the update says so", async () => {
    // A gitlink entry (what `git submodule add` records), pointing at some commit of another repo.
    // (`add -A` would drop a gitlink with no directory behind it, so it goes in by amending.)
    const other = await git(repos.dev, "rev-parse", "HEAD");
    await commitFiles(repos.dev, "1.1.0", { "app.txt": "v1.1\n" });
    await git(repos.dev, "update-index", "--add", "--cacheinfo", `160000,${other},vendor/lib`);
    await mkdir(join(repos.dev, "vendor/lib"), { recursive: true }); // an unpopulated submodule
    await git(repos.dev, "commit", "-q", "--amend", "--no-edit");
    expect(await git(repos.dev, "ls-tree", "HEAD", "vendor/lib")).toContain("160000 commit");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    await writeConfig('branch = "main"\n');
    expect((await ship()).code).toBe(0);
    await expect(stat(join(app, "vendor"))).rejects.toThrow();

    await writeFile(join(repos.dev, "app.txt"), "v1.2\n");
    await writeFile(join(repos.dev, "update-manifest.yaml"), 'version: "1.2.0"\n');
    await git(repos.dev, "commit", "-q", "-am", "release 1.2.0");
    expect(await git(repos.dev, "ls-tree", "HEAD", "vendor/lib")).toContain("160000 commit");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1.2\n");
    await expect(stat(join(app, "vendor"))).rejects.toThrow();
    expect(update.stderr).toContain("ship installs neither their content nor their directories");
  });

  it("a long fetch shows its progress: the objects received of the pack's total, and none of git's raw lines", async () => {
    await writeConfig('branch = "main"\n');
    const files: Record<string, string> = {};
    for (let i = 0; i < 120; i++) files[`assets/a${i}.bin`] = randomBytes(12_000).toString("base64");
    await commitFiles(repos.dev, "1.1.0", files);
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    // The server sends its pack slowly (about 2 s here): a long fetch over a slow link.
    const throttle = join(root, "throttle.cjs");
    await writeFile(
      throttle,
      "process.stdin.on('data', (c) => { process.stdin.pause(); process.stdout.write(c, () => setTimeout(() => process.stdin.resume(), 100)); });\n",
    );
    await git(
      repos.clone,
      "config",
      "remote.origin.uploadpack",
      `sh -c 'git-upload-pack "$0" | node ${throttle}'`,
    );

    const run = await ship();
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stderr
      .split("\n")
      .filter((l) => l.includes('"msg":"fetching"'))
      .map((l) => JSON.parse(l) as { what: string; objects: number; total: number; percent: number });
    expect(progress.length, run.stderr).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ what: "web" });
    const last = progress.at(-1);
    expect(last?.objects).toBe(last?.total);
    expect(last?.total).toBeGreaterThan(120);
    expect(run.stderr).not.toMatch(/Receiving objects|Counting objects|\[new branch\]|From \//);
    expect((await state()).sources.web.current_version).toBe("1.1.0");
  });

  it("an update writes only the blobs that changed since the installed commit", async () => {
    await writeConfig('branch = "main"\n');
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`lib/m${i}.py`] = `print(${i})\n`;
    await commitFiles(repos.dev, "1.1.0", files);
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const first = await ship();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("exported release tree");

    // The operator edited one unchanged file in the app: that one is put back too.
    await writeFile(join(app, "lib/m5.py"), "print('local edit')\n");
    await writeFile(join(repos.dev, "lib/m1.py"), "print('one')\n");
    await git(repos.dev, "rm", "-q", "lib/m2.py");
    await writeFile(join(repos.dev, "lib/new.py"), "print('new')\n");
    await chmod(join(repos.dev, "lib/m3.py"), 0o755);
    await commitFiles(repos.dev, "1.2.0", {});
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");

    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    const staged = update.stderr
      .split("\n")
      .filter((l) => l.includes("staged release changes"))
      .map((l) => JSON.parse(l) as { changed: number; written: number; files: number })[0];
    // m1, m3 (mode), new.py, the manifest changed. Nothing else is written up front: m5, which
    // differs in the app, is found by the planner (its stat no longer matches) and written then.
    expect(staged).toMatchObject({ changed: 4, written: 4 });
    const late = update.stderr
      .split("\n")
      .filter((l) => l.includes("staging release files the app no longer holds"))
      .map((l) => JSON.parse(l) as { files: number });
    expect(late).toMatchObject([{ files: 1 }]);
    // Modes and hashes of the unstaged files agree with what the first export installed: all kept.
    const applied = update.stderr
      .split("\n")
      .filter((l) => l.includes('"msg":"applied update"'))
      .map((l) => JSON.parse(l) as Record<string, number>)[0];
    expect(applied).toMatchObject({ add: 1, replace: 3, remove: 1, keep: 28 });
    expect(await readFile(join(app, "lib/m1.py"), "utf8")).toBe("print('one')\n");
    expect(await readFile(join(app, "lib/m5.py"), "utf8")).toBe("print(5)\n");
    expect(await readFile(join(app, "lib/new.py"), "utf8")).toBe("print('new')\n");
    expect((await stat(join(app, "lib/m3.py"))).mode & 0o111).not.toBe(0);
    await expect(stat(join(app, "lib/m2.py"))).rejects.toThrow();
    expect((await state()).sources.web.current_version).toBe("1.2.0");
    expect((await ship("--check-only")).code).toBe(0);
  });

  it("an update from a known commit runs each git question once: one diff, one config read for the export, no rev-parse per fact", async () => {
    await writeConfig('branch = "main"\n');
    const first = await ship();
    expect(first.code, first.stderr).toBe(0);
    await pushV2();
    // Every git process ship starts (by name, through PATH) is logged by a stand-in that runs the
    // real git; git's own helpers (upload-pack, index-pack) come from its exec path, not this one.
    const bin = join(root, "bin");
    const log = join(root, "git-calls.txt");
    await mkdir(bin);
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    await writeFile(join(bin, "git"), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${realGit}" "$@"\n`, {
      mode: 0o755,
    });
    const update = await runShip(["--config", config], {
      env: { PATH: `${bin}:${process.env.PATH ?? ""}` },
    });
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).toContain("staged release changes");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v2\n");
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(await git(repos.dev, "rev-parse", "HEAD"));
    const logged = (await readFile(log, "utf8")).split("\n").filter((l) => l !== "");
    // Up to the first reset: a copied clone's stale stat info may make it refuse once, and what
    // follows (a refresh, a second reset) is that fault's own path.
    const calls = logged.slice(0, logged.findIndex((c) => c.startsWith("reset ")) + 1);
    const named = (sub: string) => calls.filter((c) => c.split(" ")[0] === sub);
    // fetch, one rev-parse (the target, and what the clone is: bare or not, where its
    // info/attributes is), ls-tree, diff-tree, one config read about the clone, one cat-file --batch session (the installed commit's manifest first, which files
    // it skipped: their index entries may be older than it; then the changed blobs), reset: the
    // changed paths and the .gitattributes among them come from one diff, whose success also
    // proves the installed commit is in the clone. Around the fetch: one for-each-ref (the refs a
    // refusal past max_download_mb puts back) and, once a pack is kept, what git's fetch did after
    // it and ship's holds off until then: the clone's fetch.writeCommitGraph asked, git's auto gc.
    expect(named("reset"), logged.join("\n")).toHaveLength(1);
    expect(named("for-each-ref"), calls.join("\n")).toHaveLength(1);
    expect(named("maintenance"), calls.join("\n")).toEqual(["maintenance run --auto --quiet"]);
    expect(named("diff-tree"), calls.join("\n")).toHaveLength(1);
    expect(named("config"), calls.join("\n")).toEqual([
      "config --type=bool fetch.writeCommitGraph",
      expect.stringMatching(/^config -z --get-regexp /),
    ]);
    expect(named("rev-parse"), calls.join("\n")).toHaveLength(1);
    expect(named("cat-file"), calls.join("\n")).toEqual(["cat-file --batch"]);
    expect(calls.length, calls.join("\n")).toBeLessThanOrEqual(10);
  });

  /** The steps of the newest run's log: whether it staged changes or exported the whole tree. */
  const exported = (stderr: string) => stderr.includes("exported release tree");

  it("git attributes (export-ignore, export-subst) apply to every update, not only the first install", async () => {
    await writeConfig('branch = "main"\n');
    await commitFiles(repos.dev, "1.1.0", {
      ".gitattributes": "dev-secrets.env export-ignore\ntests/ export-ignore\nversion.txt export-subst\n",
      "dev-secrets.env": "DB_PASSWORD=dev\n",
      "tests/t1.sh": "echo test\n",
      "version.txt": "commit $Format:%H$\n",
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    expect((await ship()).code).toBe(0);
    await expect(stat(join(app, "dev-secrets.env"))).rejects.toThrow();
    expect(await readFile(join(app, "version.txt"), "utf8")).toBe(
      `commit ${await git(repos.dev, "rev-parse", "HEAD")}\n`,
    );

    // An update that touches none of those files: they stay out, and the substitution follows the commit.
    const head = await commitFiles(repos.dev, "1.2.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).toContain("git attributes may change what git archive writes");
    expect(exported(update.stderr)).toBe(true);
    await expect(stat(join(app, "dev-secrets.env"))).rejects.toThrow();
    await expect(stat(join(app, "tests"))).rejects.toThrow();
    expect(await readFile(join(app, "version.txt"), "utf8")).toBe(`commit ${head}\n`);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v2\n");

    // The attributes file is deleted: the files it kept out come in, the placeholder stays as written.
    await git(repos.dev, "rm", "-q", ".gitattributes");
    await commitFiles(repos.dev, "1.3.0", {});
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const dropped = await ship();
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(exported(dropped.stderr)).toBe(true);
    expect(await readFile(join(app, "dev-secrets.env"), "utf8")).toBe("DB_PASSWORD=dev\n");
    expect(await readFile(join(app, "version.txt"), "utf8")).toBe("commit $Format:%H$\n");

    // No attributes anywhere any more: the next update stages only what changed again.
    await commitFiles(repos.dev, "1.4.0", { "app.txt": "v4\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const plain = await ship();
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain("staged release changes");
    expect(exported(plain.stderr)).toBe(false);
  });

  it.each([
    ["$GIT_DIR/info/attributes", "info"],
    ["core.autocrlf = true", "autocrlf"],
    // `autocrlf` with no value is git's boolean true: git archive writes CRLF, `config --get` says "".
    ["core.autocrlf with no value", "bare-autocrlf"],
  ])("attributes outside the tree (%s) apply to updates too", async (_what, kind) => {
    await writeConfig('branch = "main"\n');
    if (kind === "info") {
      await mkdir(join(repos.clone, ".git/info"), { recursive: true });
      await writeFile(join(repos.clone, ".git/info/attributes"), "notes.txt export-ignore\n");
    } else if (kind === "autocrlf") {
      await git(repos.clone, "config", "core.autocrlf", "true");
    } else {
      await writeFile(
        join(repos.clone, ".git/config"),
        `${await readFile(join(repos.clone, ".git/config"), "utf8")}[core]\n\tautocrlf\n`,
      );
    }
    await commitFiles(repos.dev, "1.1.0", { "notes.txt": "a\nb\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    expect((await ship()).code).toBe(0);
    await commitFiles(repos.dev, "1.2.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(exported(update.stderr)).toBe(true);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe(kind === "info" ? "v2\n" : "v2\r\n");
    if (kind === "info") await expect(stat(join(app, "notes.txt"))).rejects.toThrow();
    else expect(await readFile(join(app, "notes.txt"), "utf8")).toBe("a\r\nb\r\n");
  });
});
