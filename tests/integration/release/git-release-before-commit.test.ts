/**
 * `ship release git` refuses, before it commits anything, what would only fail after the manifest
 * commit: a version git cannot name a tag after, `--push` from a detached HEAD (a CI checkout
 * of a commit), and a manifest .gitignore keeps out of git (git add refused it: "internal error:
 * The following paths are ignored …" over five lines, the manifest left written). Each used to commit the manifest and
 * then fail with exit 1 ("internal error: fatal: 'v1.0.0..1' is not a valid tag name", or git's
 * text cut mid-sentence), leaving a commit behind.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

describe.skipIf(!hasProgram("git"))("ship release git: refusals before the manifest is committed", () => {
  let dir: string;
  let repo: string;
  const manifest = '# ours\nversion: "0.1.0"\ndescription: "first"\n';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-git-before-commit-"));
    repo = join(dir, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    git(repo, "config", "user.email", "ci@example.com");
    git(repo, "config", "user.name", "CI");
    git(repo, "config", "commit.gpgsign", "false");
    git(repo, "config", "tag.gpgsign", "false");
    await writeFile(join(repo, "app.py"), "print('v1')\n");
    await writeFile(join(repo, "update-manifest.yaml"), manifest);
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "initial");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `files` (paths relative to the repository) and commits them; the new HEAD. */
  async function commitFiles(message: string, files: Record<string, string>): Promise<string> {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(repo, rel)), { recursive: true });
      await writeFile(join(repo, rel), text);
    }
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", message);
    return git(repo, "rev-parse", "HEAD");
  }

  async function expectUnchanged(head: string): Promise<void> {
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list")).toBe("");
    expect(git(repo, "status", "--porcelain")).toBe("");
    expect(await readFile(join(repo, "update-manifest.yaml"), "utf8")).toBe(manifest);
  }

  it.each(["1.0.0..1", "1.0.0~1", "1.0.0.lock", "1.0.0-a..b", "1.0.0."])(
    "refuses %s, which git cannot name a tag v<VERSION> after: exit 2 naming VERSION, nothing committed",
    async (version) => {
      const head = git(repo, "rev-parse", "HEAD");
      const r = await runShip(["release", "-C", repo, "git", version, "Fixes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`VERSION ${version}`);
      expect(r.stderr).toContain(`v${version}`);
      expect(r.stderr).toContain("not a valid git tag name");
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      await expectUnchanged(head);
    },
  );

  it("refuses --push from a detached HEAD: exit 2 saying to check out the branch, nothing committed", async () => {
    execFileSync("git", ["init", "-q", "--bare", join(dir, "origin.git")]);
    git(repo, "remote", "add", "origin", join(dir, "origin.git"));
    git(repo, "push", "-q", "origin", "main");
    git(repo, "checkout", "-q", "--detach");
    const head = git(repo, "rev-parse", "HEAD");
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HEAD is detached/);
    expect(r.stderr).toMatch(/git checkout/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    await expectUnchanged(head);
    expect(git(join(dir, "origin.git"), "tag", "--list")).toBe("");

    // Without --push a detached HEAD is tagged (the tag keeps the commit), and the hint pushes the tag only.
    const local = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
    expect(local.code).toBe(0);
    expect(git(repo, "tag", "--list")).toBe("v1.0.0");
    expect(local.stdout).toContain("push with: git push origin v1.0.0");
    expect(local.stdout).not.toContain("git push &&");
  });

  // `--push` checked its remote only at the push, after the manifest commit: "'origin' does not
  // appear to be a git repository", exit 1, and a commit left behind.
  it("--push to a remote this repository lacks: exit 2 naming --remote, nothing committed", async () => {
    const head = git(repo, "rev-parse", "HEAD");
    const none = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push"]);
    expect(none.stderr).toBe(
      "ship release git: --remote origin: this repository has no remote to push to: add it (git remote add origin URL), or leave out --push; nothing was committed or tagged\n",
    );
    expect(none.code).toBe(2);
    await expectUnchanged(head);

    execFileSync("git", ["init", "-q", "--bare", join(dir, "origin.git")]);
    git(repo, "remote", "add", "origin", join(dir, "origin.git"));
    const typo = await runShip([
      "release",
      "-C",
      repo,
      "git",
      "1.0.0",
      "Fixes",
      "--push",
      "--remote",
      "orgin",
    ]);
    expect(typo.stderr).toBe(
      "ship release git: --remote orgin: this repository has no such remote (it has origin): pass --remote with one of them, or add it (git remote add orgin URL); nothing was committed or tagged\n",
    );
    expect(typo.code).toBe(2);
    await expectUnchanged(head);
  });

  // CI passes the remote as a URL with its token (--remote https://ci:TOKEN@host/app.git): its
  // refusal printed the URL whole, token included, into the job's log.
  it("--push to a URL holding credentials: its user, password and query values are masked in every refusal", async () => {
    const secretUrl = "http://ci:SECRETPW@127.0.0.1:9/app.git?token=QSECRET";
    const shown = "http://***@127.0.0.1:9/app.git?token=***";
    const head = git(repo, "rev-parse", "HEAD");
    const unreachable = await runShip([
      "release",
      "-C",
      repo,
      "git",
      "1.0.0",
      "Fixes",
      "--push",
      "--remote",
      secretUrl,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`ship release git: git ls-remote ${shown}: `);
    expect(unreachable.stderr).not.toMatch(/SECRETPW|QSECRET/);
    await expectUnchanged(head);

    // git reaches the same URL at a real repository (insteadOf), which has moved on: the push is refused.
    const origin = join(dir, "origin.git");
    execFileSync("git", ["clone", "-q", "--bare", repo, origin]);
    const other = join(dir, "other");
    execFileSync("git", ["clone", "-q", origin, other]);
    git(other, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "theirs");
    git(other, "push", "-q", "origin", "main");
    // The user and password reach git by a credential helper, so git is given the URL without them.
    git(repo, "config", `url.file://${origin}.insteadOf`, secretUrl.replace("ci:SECRETPW@", ""));
    const rejected = await runShip([
      "release",
      "-C",
      repo,
      "git",
      "1.0.0",
      "Fixes",
      "--push",
      "--remote",
      secretUrl,
    ]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain(`ship release git: git push ${shown} HEAD: the remote refused it`);
    expect(rejected.stderr).not.toMatch(/SECRETPW|QSECRET/);
  });

  it("--push to a remote that cannot be reached: exit 1, nothing committed, and the same command works once it is there", async () => {
    const origin = join(dir, "origin.git");
    git(repo, "remote", "add", "origin", origin);
    const head = git(repo, "rev-parse", "HEAD");
    for (const remote of ["origin", join(dir, "elsewhere.git")]) {
      const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push", "--remote", remote]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^ship release git: git ls-remote ${remote}: .*does not appear to be a git repository; nothing was committed or tagged: run ship release git 1\\.0\\.0 again once that is fixed\n$`,
        ),
      );
      await expectUnchanged(head);
    }

    execFileSync("git", ["init", "-q", "--bare", origin]);
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push"]);
    expect(r.code).toBe(0);
    expect(git(origin, "rev-parse", "main")).toBe(git(repo, "rev-parse", "HEAD"));
    expect(git(origin, "tag", "--list")).toBe("v1.0.0");
  });

  // The manifest is rewritten in place: a symlink was written through (to a file elsewhere in the
  // tree, left modified and never committed, or outside the repository) while the commit held the
  // unchanged link, and the tag went out with the old version, exit 0; a directory was exit 1.
  it.each([
    ["a symlink to a file in the tree", "config/manifest.yaml"],
    ["a symlink out of the tree", "../outside.yaml"],
    ["a directory", ""],
  ])(
    "refuses a manifest that is %s: exit 2 naming it, nothing written, committed or tagged",
    async (_kind, target) => {
      git(repo, "rm", "-q", "update-manifest.yaml");
      await mkdir(join(repo, "config"));
      await writeFile(join(repo, "config", "manifest.yaml"), manifest);
      await writeFile(join(dir, "outside.yaml"), manifest);
      if (target === "") await mkdir(join(repo, "update-manifest.yaml", "x"), { recursive: true });
      else await symlink(target, join(repo, "update-manifest.yaml"));
      if (target === "") await writeFile(join(repo, "update-manifest.yaml", "x", "f"), "x\n");
      git(repo, "add", "-A");
      git(repo, "commit", "-q", "-m", "the manifest moved");
      const head = git(repo, "rev-parse", "HEAD");
      const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
      expect(r.stderr).toMatch(
        target === ""
          ? new RegExp(
              `^ship release git: ${repo}/update-manifest\\.yaml is a directory, not a file: .*; nothing was committed or tagged\n$`,
            )
          : new RegExp(
              `^ship release git: ${repo}/update-manifest\\.yaml is a symlink \\(to ${target.replaceAll(".", "\\.")}\\): .*; nothing was committed or tagged\n$`,
            ),
      );
      expect(r.code).toBe(2);
      expect(git(repo, "rev-parse", "HEAD")).toBe(head);
      expect(git(repo, "tag", "--list")).toBe("");
      expect(git(repo, "status", "--porcelain")).toBe("");
      expect(await readFile(join(repo, "config", "manifest.yaml"), "utf8")).toBe(manifest);
      expect(await readFile(join(dir, "outside.yaml"), "utf8")).toBe(manifest);
    },
  );

  // A clone without the remote's tags (pulled with --no-tags, fetched by branch) released a version
  // the remote has: the manifest commit went to main, then the tag was refused ("already exists"),
  // exit 1, saying to push it again, which could never work.
  it.each(["v1.0.0", "v1.0.0+build.7"])(
    "--push of a version the remote has tagged %s, which this clone lacks: exit 2, nothing committed or pushed",
    async (theirs) => {
      const origin = join(dir, "origin.git");
      execFileSync("git", ["init", "-q", "--bare", origin]);
      git(repo, "remote", "add", "origin", origin);
      git(repo, "push", "-q", "origin", "main");
      git(repo, "-c", "tag.gpgsign=false", "tag", "-a", "-m", "theirs", theirs);
      git(repo, "push", "-q", "origin", theirs);
      git(repo, "tag", "-d", theirs);
      const head = git(repo, "rev-parse", "HEAD");
      const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push"]);
      const which = theirs === "v1.0.0" ? "" : ", which releases version 1.0.0";
      expect(r.stderr).toBe(
        `ship release git: --remote origin already has the tag ${theirs}${which}, which this clone lacks (git fetch --tags origin); release a new version; nothing was committed or tagged\n`,
      );
      expect(r.code).toBe(2);
      await expectUnchanged(head);
      expect(git(origin, "rev-parse", "main")).toBe(head);
    },
  );

  // The tag holds the whole repository: run from a subdirectory (`-C app/src`, or cd there), only
  // that subdirectory's tracked files were checked, so a key at the top was tagged without a word.
  it("from a subdirectory, checks every tracked file of the repository: exit 2 naming them, nothing committed", async () => {
    const head = await commitFiles("a key", { "src/main.py": "print('hi')\n", deploy_key: PRIVATE_KEY });
    const fromSub = await runShip(["release", "git", "1.0.0", "Fixes"], { cwd: join(repo, "src") });
    const viaC = await runShip(["release", "-C", join(repo, "src"), "git", "1.0.0", "Fixes"]);
    for (const r of [fromSub, viaC]) {
      expect(r.stderr).toMatch(
        new RegExp(
          `^ship release git: ${repo}/deploy_key holds a private key; it would go into the tag v1\\.0\\.0`,
        ),
      );
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
      await expectUnchanged(head);
    }

    // A name agents refuse at fetch, outside the subdirectory: the same kind of check, the same miss.
    git(repo, "rm", "-q", "deploy_key");
    await writeFile(
      Buffer.concat([Buffer.from(`${repo}/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]),
      "x\n",
    );
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "a latin-1 name");
    const next = git(repo, "rev-parse", "HEAD");
    const named = await runShip(["release", "-C", join(repo, "src"), "git", "1.0.0", "Fixes"]);
    expect(named.stderr).toMatch(
      new RegExp(`^ship release git: ${repo}/caf\\\\xe9\\.txt has a name that is not valid UTF-8`),
    );
    expect(named.code).toBe(2);
    expect(git(repo, "rev-parse", "HEAD")).toBe(next);
    expect(git(repo, "tag", "--list")).toBe("");
  });

  // Agents following the tag read the manifest at its top: from a subdirectory the manifest was
  // written and committed there, where no agent reads it, and the tag went out with the old one.
  it("from a subdirectory, releases the repository: its top's manifest gets the version, said on stderr", async () => {
    await commitFiles("src", { "src/main.py": "print('hi')\n" });
    const r = await runShip(["release", "git", "1.0.0", "Fixes"], { cwd: join(repo, "src") });
    expect(r.stderr).toBe(
      `note: released the repository at ${repo}, its work tree's top: a tag holds all of it, and agents following the tag read ${repo}/update-manifest.yaml\n`,
    );
    expect(r.code).toBe(0);
    expect(git(repo, "show", "v1.0.0:update-manifest.yaml")).toMatch(/^# ours\nversion: "?1\.0\.0"?\n/);
    expect(git(repo, "ls-tree", "-r", "--name-only", "v1.0.0", "src")).toBe("src/main.py");
    expect(git(repo, "status", "--porcelain")).toBe("");
  });

  it("from a subdirectory holding a manifest of its own: exit 2 naming it, nothing committed", async () => {
    const head = await commitFiles("a manifest below the top", {
      "src/update-manifest.yaml": 'version: "0.1.0"\n',
    });
    const r = await runShip(["release", "-C", join(repo, "src"), "git", "1.0.0", "Fixes"]);
    expect(r.stderr).toBe(
      `ship release git: ${repo}/src/update-manifest.yaml is not at the top of the git work tree ${repo}: agents following the tag install the whole repository and read ${repo}/update-manifest.yaml, never this one; move it there (git mv), or release this directory as an archive (ship release http); nothing was committed or tagged\n`,
    );
    expect(r.code).toBe(2);
    await expectUnchanged(head);
    expect(await readFile(join(repo, "src", "update-manifest.yaml"), "utf8")).toBe('version: "0.1.0"\n');
  });

  // git archive, which agents install a tag from, leaves export-ignore paths out: the tag was made
  // (exit 0) and every agent installed it as a release without a manifest.
  it.each(["update-manifest.yaml export-ignore", "*.yaml export-ignore", "* export-ignore"])(
    "refuses a manifest .gitattributes marks export-ignore (%s): exit 2, nothing committed",
    async (rule) => {
      const head = await commitFiles("attributes", { ".gitattributes": `tests/ export-ignore\n${rule}\n` });
      const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
      expect(r.stderr).toMatch(
        new RegExp(
          `^ship release git: ${repo}/update-manifest\\.yaml is marked export-ignore by a \\.gitattributes rule .*; nothing was committed or tagged\n$`,
        ),
      );
      expect(r.code).toBe(2);
      await expectUnchanged(head);
    },
  );

  it("an export-ignore rule for other paths leaves the release alone", async () => {
    await commitFiles("attributes", { ".gitattributes": "tests/ export-ignore\n" });
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
    expect(r.code).toBe(0);
    expect(
      execFileSync("git", ["archive", "v1.0.0", "update-manifest.yaml"], { cwd: repo }).length,
    ).toBeGreaterThan(0);
  });

  it("refuses a manifest .gitignore keeps out of git: exit 2 naming the rule, nothing written", async () => {
    git(repo, "rm", "-q", "--cached", "update-manifest.yaml");
    await rm(join(repo, "update-manifest.yaml"));
    await writeFile(join(repo, ".gitignore"), "*.log\nupdate-manifest.yaml\n");
    git(repo, "add", ".gitignore");
    git(repo, "commit", "-q", "-m", "ignore the manifest");
    const head = git(repo, "rev-parse", "HEAD");
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
    expect(r.stderr).toBe(
      `ship release git: ${repo}/update-manifest.yaml is ignored by git (.gitignore:2: update-manifest.yaml), so it cannot be committed, and agents following the tag read their manifest from it: remove that rule; nothing was committed or tagged\n`,
    );
    expect(r.code).toBe(2);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list")).toBe("");
    expect(git(repo, "status", "--porcelain", "--ignored")).toBe("");
  });
});
