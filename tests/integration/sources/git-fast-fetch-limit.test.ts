/**
 * max_download_mb on a git fetch that ends between two reads of the pack being written: the size
 * watch read `tmp_pack_*` every 100 ms and nothing once git had exited, so a local remote sending a
 * pack in a few ms passed any limit (CI saw it as a flaky partial-clone test). Now what a finished
 * fetch kept is measured too, and a refusal puts the refs back before removing the pack: the clone
 * stays whole, and the next run is refused again rather than finding the objects already fetched.
 * So does a clone whose own fetch.writeCommitGraph had the refused commits written into its graph.
 * Real git over file://, real CLI.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip, startShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source: a fast fetch past max_download_mb", () => {
  let root: string;
  let repos: Repos;
  let app: string;
  const packs = async () => (await readdir(join(repos.clone, ".git", "objects", "pack"))).sort();
  const refs = () => git(repos.clone, "for-each-ref", "--format=%(objectname) %(refname)");
  /** ~400 kB of base64 of random bytes: ~300 kB in a pack, three times a 0.1 MB limit. */
  const bigFile = () => randomBytes(300_000).toString("base64");

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-fast-limit-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /**
   * The same host's config with room for the pack (ship.roomy.toml, the same state): a run killed
   * with it has had git exit 0, the pack whole and kept, and not caught while it arrived (a loaded
   * host's slow fetch was, a run with the 0.1 MB limit).
   */
  const roomyConfig = async () => {
    const strict = await readFile(join(root, "ship.toml"), "utf8");
    const roomy = join(root, "ship.roomy.toml");
    await writeFile(roomy, strict.replace("max_download_mb = 0.1", "max_download_mb = 2"));
    return roomy;
  };

  /** The clone as it was, nothing of the refused release in it, and git finds it whole. */
  const expectCloneUnchanged = async (before: { refs: string; packs: string[] }, refused: string) => {
    expect(await refs()).toBe(before.refs);
    expect(await packs()).toEqual(before.packs);
    await expect(git(repos.clone, "cat-file", "-e", refused)).rejects.toThrow();
    await git(repos.clone, "fsck", "--connectivity-only", "--no-dangling");
  };

  it("a branch's pack received in milliseconds is refused on every run, the clone whole, until the limit is raised", async () => {
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const installed = await readFile(join(app, "app.txt"), "utf8");

    const big = bigFile();
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": big });
    await git(repos.dev, "tag", "v1.1.0");
    await git(repos.dev, "push", "-q", "--tags", "origin", "HEAD:main");
    const before = { refs: await refs(), packs: await packs() };
    for (let run = 0; run < 3; run++) {
      const refused = await runShip(["--config", config]);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stdout).toMatch(
        /the pack runs past \[sources\.web\] max_download_mb = 0\.1 \(0\.\d\d MB received\): the fetch was refused and what it received removed, nothing installed/,
      );
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe(installed);
      expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
      await expectCloneUnchanged(before, commit);
    }

    await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 2');
    const raised = await runShip(["--config", config]);
    expect(raised.code, raised.stdout + raised.stderr).toBe(0);
    expect(await readFile(join(app, "big.txt"), "utf8")).toBe(big);
  });

  // git moves the refs and keeps the pack as it exits; ship measures after. A ship killed in between
  // (or while git ran: git, in its own process group, finishes alone) left them so, and the next run
  // found the objects already there and installed past the limit. The fetch is recorded on disk
  // until measured, and the next run undoes what a killed one left unmeasured, then refuses again.
  it.each(["git-fetch:exited", "git-fetch:started"])(
    "a run killed at %s leaves the next run refusing, the clone whole",
    async (point) => {
      const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
      const first = await runShip(["--config", config]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const before = { refs: await refs(), packs: await packs() };
      const roomy = await roomyConfig();
      const killed = await startShip(["--config", roomy], { env: { SHIP_FAULT: point } }).done;
      expect(killed.signal, killed.stdout + killed.stderr).toBe("SIGKILL");
      const refused = await runShip(["--config", config]);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 0.1");
      expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
      await expectCloneUnchanged(before, commit);
      await git(repos.clone, "fsck", "--no-dangling");
      await expect(readFile(join(repos.clone, ".git", "ship-fetch.json"))).rejects.toThrow(/ENOENT/);
    },
  );

  // A clone repacked by hand after the kill holds the unmeasured objects and the clone's own in one
  // new pack: removing it as the fetch's would break the clone, so the run fails naming it instead.
  it("a clone repacked after a killed run's fetch is left whole, the run failing with what to do", async () => {
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await git(repos.clone, "repack", "-q", "-a", "-d");
    await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const roomy = await roomyConfig();
    const killed = await startShip(["--config", roomy], { env: { SHIP_FAULT: "git-fetch:exited" } }).done;
    expect(killed.signal, killed.stdout + killed.stderr).toBe("SIGKILL");
    await git(repos.clone, "repack", "-q", "-a", "-d");

    const failed = await runShip(["--config", config]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stdout).toContain("was repacked after a killed run's fetch");
    expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
    await git(repos.clone, "fsck", "--no-dangling");
  });

  // The record a run keeps while it fetches is not a killed run's while that run lives: a second
  // configuration sharing the clone (its own run lock) is refused, never undoing the first's fetch.
  it("a run of another configuration finds the clone's fetch under way and leaves it alone", async () => {
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const before = { refs: await refs(), packs: await packs() };
    const other = join(root, "other");
    await mkdir(other);
    const otherConfig = await writeGitConfig(other, repos.clone, join(other, "app"), 'branch = "main"');
    await mkdir(join(other, "app"));

    const held = startShip(["--config", config], { env: { SHIP_FAULT: "git-fetch:started:stop" } });
    const journal = join(repos.clone, ".git", "ship-fetch.json");
    await expect
      .poll(async () => (await readFile(journal, "utf8").catch(() => "")).includes('"pid"'))
      .toBe(true);
    const beside = await runShip(["--config", otherConfig]);
    expect(beside.code, beside.stdout + beside.stderr).toBe(1);
    expect(beside.stdout).toContain(
      `another ship run (pid ${held.child.pid}) is fetching into ${repos.clone}`,
    );
    held.child.kill("SIGCONT");
    const refused = await held.done;
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 0.1");
    await expectCloneUnchanged(before, commit);
  });

  // A remote that held the connection open after sending the whole pack: git had kept the pack when
  // max_download_seconds ended it, and only its temporary files were removed. The next fetch found
  // the objects already there, received nothing, and installed them past max_download_mb.
  it("a fetch cut by max_download_seconds after its pack was whole keeps nothing of it", async () => {
    const config = await writeGitConfig(
      root,
      repos.clone,
      app,
      'branch = "main"\nmax_download_mb = 2\nmax_download_seconds = 2',
    );
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const holding = join(root, "upload-pack-holding.sh");
    await writeFile(holding, '#!/bin/sh\ngit-upload-pack "$@"\nexec sleep 60\n', { mode: 0o755 });
    await git(repos.clone, "config", "remote.origin.uploadpack", holding);
    const before = { refs: await refs(), packs: await packs() };

    const cut = await runShip(["--config", config]);
    expect(cut.code, cut.stdout + cut.stderr).toBe(1);
    expect(cut.stdout).toContain("git fetch not done after 2 s");
    await expectCloneUnchanged(before, commit);

    await git(repos.clone, "config", "--unset", "remote.origin.uploadpack");
    await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 0.1");
    expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
    await expectCloneUnchanged(before, commit);
  });

  // git's own gc is held off in ship's fetch (a repack there would fold old packs into one that a
  // refusal removes) and run by ship once a fetch is kept: the packs of many updates are joined.
  it("kept fetches are gc'd as git's fetch would, and a refusal with gc due removes only its own pack", async () => {
    await git(repos.clone, "config", "gc.autoPackLimit", "2");
    await git(repos.clone, "config", "gc.autoDetach", "false");
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    for (const version of ["1.1.0", "1.2.0", "1.3.0"]) {
      await commitFiles(repos.dev, version, { "app.txt": `${version}\n` });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe(`${version}\n`);
    }
    expect((await packs()).filter((name) => name.endsWith(".pack")).length).toBeLessThanOrEqual(2);

    // ~40 kB past a 0.02 MB limit: a pack of tens of ms, caught while it runs or once it has ended.
    await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.02');
    const commit = await commitFiles(repos.dev, "1.4.0", {
      "big.txt": randomBytes(30_000).toString("base64"),
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    // gc due as soon as one more pack arrives: git's fetch would repack the clone's packs into one.
    await git(repos.clone, "config", "gc.autoPackLimit", "1");
    const before = { refs: await refs(), packs: await packs() };
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    await expectCloneUnchanged(before, commit);
  });

  it("a tag release's refusal puts back the tags the fetch pruned and removes the ones it made", async () => {
    await git(repos.dev, "tag", "v1.0.0");
    await git(repos.dev, "push", "-q", "origin", "v1.0.0");
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    // The remote drops v1.0.0 (the fetch prunes it) and gains a big v1.1.0.
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
    await git(repos.dev, "tag", "v1.1.0");
    await git(repos.dev, "push", "-q", "origin", "v1.1.0", ":refs/tags/v1.0.0");
    const before = { refs: await refs(), packs: await packs() };
    expect(before.refs).toContain("v1.0.0");
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 0.1");
    await expectCloneUnchanged(before, commit);
  });

  // A clone's own fetch.writeCommitGraph made git's fetch write the refused release's commits into
  // the commit-graph; the refusal removed their pack and `git fsck` failed on the clone. Now ship's
  // fetch writes no graph and ship writes it once a fetch is kept, as the setting asks.
  it("a clone that writes a commit-graph on fetch stays whole after a refusal and gets its graph once one is kept", async () => {
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await git(repos.clone, "config", "fetch.writeCommitGraph", "true");
    const commit = await commitFiles(repos.dev, "1.1.0", { "big.txt": bigFile() });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const before = { refs: await refs(), packs: await packs() };
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    await expectCloneUnchanged(before, commit);
    await git(repos.clone, "fsck", "--no-dangling");
    const graphs = join(repos.clone, ".git", "objects", "info", "commit-graphs");
    expect(await readdir(graphs).catch(() => [])).toEqual([]);

    await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 2');
    const raised = await runShip(["--config", config]);
    expect(raised.code, raised.stdout + raised.stderr).toBe(0);
    expect((await readdir(graphs)).some((name) => name.endsWith(".graph"))).toBe(true);
    await git(repos.clone, "commit-graph", "verify");
  });

  // git's fetch recursed on demand into a checked-out submodule whose commit the release moved:
  // its remote's pack landed in .git/modules, unmeasured, past max_download_mb.
  it("a release moving a submodule fetches nothing of the submodule's remote", async () => {
    const allow = ["-c", "protocol.file.allow=always"];
    const subBare = join(root, "sub.git");
    const subDev = join(root, "sub-dev");
    await git(root, "init", "-q", "--bare", subBare);
    await git(root, "clone", "-q", subBare, subDev);
    await commitFiles(subDev, "s1", { "s.txt": "s\n" });
    await git(subDev, "push", "-q", "origin", "HEAD:main");
    await git(repos.dev, ...allow, "submodule", "add", "-q", `file://${subBare}`, "sub");
    await git(repos.dev, "commit", "-q", "-m", "with sub");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    await git(repos.clone, "pull", "-q", "origin", "main");
    await git(repos.clone, ...allow, "submodule", "update", "-q", "--init");
    const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    const subCommit = await commitFiles(subDev, "s2", { "big.txt": bigFile() });
    await git(subDev, "push", "-q", "origin", "HEAD:main");
    await git(join(repos.dev, "sub"), "pull", "-q", "origin", "main");
    await commitFiles(repos.dev, "1.1.0", { "app.txt": "1.1.0\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    await runShip(["--config", config]);
    await expect(git(join(repos.clone, "sub"), "cat-file", "-e", subCommit)).rejects.toThrow();
  });
});
