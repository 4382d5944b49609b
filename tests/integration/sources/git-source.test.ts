import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import type { IndexedFile } from "../../../agent/apply/types.js";
import { DownloadError } from "../../../agent/download/errors.js";
import { compareWithIndex } from "../../../agent/sources/app-holds.js";
import { createSource } from "../../../agent/sources/create.js";
import { GitSource } from "../../../agent/sources/git.js";
import type { InstalledRelease, SourceContext } from "../../../agent/sources/types.js";
import { GitSource as GitSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { freePort } from "../../support/servers/free-port.js";
import { gitHttpHandler } from "../../support/servers/git-http.js";
import { startHttpServer } from "../../support/servers/http-server.js";
import { commitFiles, copyRepos, git, makeRepos, type Repos } from "./git-repos.js";

const execFileAsync = promisify(execFile);

/** chown -R, as root. */
async function chownTree(dir: string, uid: number): Promise<void> {
  await execFileAsync("chown", ["-R", String(uid), dir]);
}

/**
 * This process's children right now, from /proc: each one's name (`comm`) and command line. Node's
 * spawn returns once the child has exec'd, so a child started before the caller's next line is
 * named git. One that has exited but is not yet reaped (the event loop reaps, so never before the
 * synchronous code that spawned it returns) keeps its name and parent but shows an empty command
 * line: on a loaded machine git's fetch of one commit over file:// can end while this process
 * waits for a core (CI's check run under load, round 45).
 */
function children(): { comm: string; args: string[] }[] {
  const found: { comm: string; args: string[] }[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      found.push({
        comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        args: readFileSync(`/proc/${pid}/cmdline`, "utf8")
          .split("\0")
          .filter((a) => a !== ""),
      });
    } catch {
      // Gone meanwhile: not a child any more.
    }
  }
  return found;
}

describe.skipIf(!hasProgram("git"))("GitSource over file://", () => {
  let tmp: string;
  let repos: Repos;
  let ctx: SourceContext;
  /** What the install index would say; the pipeline records it after each install or rollback. */
  let installed: InstalledRelease | undefined;
  const markInstalled = (releaseId: string, version: string) => {
    installed = { releaseId, version, appDir: join(tmp, "app"), files: new IndexFiles() };
  };
  let templateDir: string;
  let template: Repos;

  beforeAll(async () => {
    templateDir = await mkdtemp(join(tmpdir(), "ship-git-template-"));
    template = await makeRepos(join(templateDir, "repos"));
  });
  afterAll(async () => {
    await rm(templateDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-git-"));
    repos = await copyRepos(template, join(tmp, "repos"));
    installed = undefined;
    ctx = {
      stateDir: join(tmp, "state"),
      log: memoryLogger(),
      retryDelayMs: 0,
      installed: async () => installed,
    };
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const source = (extra: Record<string, unknown> = {}) =>
    createSource(
      "app",
      GitSourceConfig.parse({ type: "git", app_dir: join(tmp, "app"), local_path: repos.clone, ...extra }),
      ctx,
    );

  it("compares the installed commit with the remote branch and exports the new commit's tree, not the dirty work tree", async () => {
    const src = source();
    // A fresh clone sits on the newest commit, but nothing is installed: that is an update.
    expect(await src.check()).toMatchObject({
      available: true,
      detail: expect.stringContaining("nothing installed"),
    });
    markInstalled(await git(repos.clone, "rev-parse", "HEAD"), "1.0.0");
    expect((await src.check()).available).toBe(false);

    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    // Local edits in the clone must not leak into the release.
    await writeFile(join(repos.clone, "app.txt"), "dirty edit\n");
    await writeFile(join(repos.clone, "untracked.txt"), "junk\n");

    const check = await src.check();
    expect(check).toMatchObject({ available: true, candidate: `origin/main (${v2.slice(0, 12)})` });

    const stage = await mkdtemp(join(tmp, "stage-"));
    const release = await src.fetch(stage);
    expect(release).toMatchObject({ dir: stage, id: v2 });
    // `git archive` output is hashed while extracting; every exported file is named.
    const onDisk = ["app.txt", "config/settings.toml", "update-manifest.yaml"].map(
      async (rel) =>
        [
          rel,
          createHash("sha256")
            .update(await readFile(join(stage, rel)))
            .digest("hex"),
        ] as const,
    );
    expect(release.fileHashes).toEqual(new Map(await Promise.all(onDisk)));
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2\n");
    expect((await readdir(stage)).sort()).toEqual(["app.txt", "config", "update-manifest.yaml"]);
    // No artifact is left behind (the diff path never writes one).
    expect(await readdir(join(tmp, "state", "downloads")).catch(() => [])).toEqual([]);
  });

  it("commit() with local_path == app_dir moves HEAD and index but leaves the work tree alone", async () => {
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const src = source({ app_dir: repos.clone });
    const release = await src.fetch(await mkdtemp(join(tmp, "stage-")));
    // Stand-in for the pipeline: it applied the tree but kept the user's config value.
    await writeFile(join(repos.clone, "app.txt"), "v2\n");
    await writeFile(join(repos.clone, "update-manifest.yaml"), 'version: "2.0.0"\n');
    await writeFile(join(repos.clone, "config/settings.toml"), "x = 42 # user value\n");
    await src.commit(release);
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v2);
    expect(await readFile(join(repos.clone, "config/settings.toml"), "utf8")).toBe("x = 42 # user value\n");
    expect(await git(repos.clone, "status", "--porcelain")).toBe("M config/settings.toml");
    // The clone's HEAD alone does not make it "installed": the install index does.
    expect((await src.check()).available).toBe(true);
    markInstalled(release.id, "2.0.0");
    expect((await src.check()).available).toBe(false);
  });

  it("commit() on a separate clone updates it to the release", async () => {
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const src = source();
    await src.commit(await src.fetch(await mkdtemp(join(tmp, "stage-"))));
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v2);
    expect(await readFile(join(repos.clone, "app.txt"), "utf8")).toBe("v2\n");
  });

  it("reads the install index while git fetch runs (check, and fetch without a check), not before starting it", async () => {
    // The index is read synchronously inside its promise (20,000 entries: tens of ms): asked
    // before the fetch, it held the main thread before git was even started.
    const fetchRunning: boolean[] = [];
    ctx.installed = async () => {
      // git's fetch started: running, or ended and not yet reaped (no command line left to read).
      fetchRunning.push(
        children().some(
          ({ comm, args }) =>
            comm === "git" && (args.length === 0 || (args[0] === "git" && args.includes("fetch"))),
        ),
      );
      return installed;
    };
    markInstalled(await git(repos.clone, "rev-parse", "HEAD"), "1.0.0");
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    expect((await source().check()).available).toBe(true);
    expect(fetchRunning[0]).toBe(true);
    fetchRunning.length = 0;
    await source().fetch(await mkdtemp(join(tmp, "stage-")));
    expect(fetchRunning[0]).toBe(true);
  });

  it("an update staged from the installed commit carries its listing compared with the install index", async () => {
    // What the install index would list after installing 1.0.0: the export's own hashes and sizes.
    const first = await source().fetch(await mkdtemp(join(tmp, "stage-")));
    const files: Record<string, IndexedFile> = {};
    for (const [rel, sha256] of first.fileHashes ?? []) {
      const size = (await readFile(join(first.dir, rel))).length;
      files[rel] = { sha256, size, mode: 0o664, mtimeMs: 0, ino: 0 };
    }
    installed = {
      releaseId: first.id,
      version: "1.0.0",
      appDir: join(tmp, "app"),
      files: IndexFiles.of(files),
    };
    await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n", "new.txt": "new\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const release = await source().fetch(await mkdtemp(join(tmp, "stage-")));
    expect(release.listing).toBeDefined();
    // The staged path (not a whole export): the unchanged file was left out of staging.
    expect((await readdir(release.dir)).sort()).toEqual(["app.txt", "new.txt", "update-manifest.yaml"]);
    // What the immutable check would otherwise work out itself, over the whole listing.
    expect(release.comparedWithIndex).toEqual(
      compareWithIndex(release.listing?.files ?? new Map(), installed),
    );
    expect(release.comparedWithIndex?.files).toBe(installed.files);
    expect(release.comparedWithIndex?.differing).toEqual(["app.txt", "new.txt", "update-manifest.yaml"]);
    expect(release.comparedWithIndex?.indexed).toBe(3);
  });

  it("commit() on a clone whose stat info is stale (files copied back, same bytes) still updates it", async () => {
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    // Same bytes, new inode and an old mtime: `reset --keep` alone calls this a local edit.
    const file = join(repos.clone, "app.txt");
    const bytes = await readFile(file);
    await rm(file);
    await writeFile(file, bytes);
    await utimes(file, new Date("2001-01-01"), new Date("2001-01-01"));
    const src = source();
    await src.commit(await src.fetch(await mkdtemp(join(tmp, "stage-"))));
    expect(await git(repos.clone, "rev-parse", "HEAD")).toBe(v2);
    expect(await readFile(file, "utf8")).toBe("v2\n");
  });

  it("tag mode refuses a version tag whose manifest names another version, in check and fetch", async () => {
    await commitFiles(repos.dev, "3.0.0", { "app.txt": "3.0.0\n" });
    await git(repos.dev, "tag", "v3.1.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    const said =
      /git tag v3\.1\.0: its update-manifest\.yaml says version "3\.0\.0": the tag and the manifest must name one version/;
    await expect(source({ tag: "v*" }).check()).rejects.toThrow(said);
    const stage = await mkdtemp(join(tmp, "stage-"));
    await expect(source({ tag: "v*" }).fetch(stage)).rejects.toBeInstanceOf(VerificationError);
    expect(await readdir(stage)).toEqual([]);
  });

  it("tag mode picks the newest matching tag by version order, not by name", async () => {
    const commits: Record<string, string> = {};
    for (const v of ["1.2.0", "1.10.0", "1.9.0"]) {
      commits[v] = await commitFiles(repos.dev, v, { "app.txt": `${v}\n` });
      await git(repos.dev, "tag", `v${v}`);
    }
    await git(repos.dev, "tag", "other-99.0.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    const src = source({ tag: "v*" });
    expect(await src.check()).toMatchObject({
      available: true,
      candidate: `v1.10.0 (${commits["1.10.0"]?.slice(0, 12)})`,
    });
    const stage = await mkdtemp(join(tmp, "stage-"));
    const release = await src.fetch(stage);
    expect(release.id).toBe(commits["1.10.0"]);
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("1.10.0\n");
    await src.commit(release);
    markInstalled(release.id, "1.10.0");
    expect(await src.check()).toMatchObject({ available: false, current: "1.10.0" });
    // Rolled back to 1.9.0 (the clone still sits on 1.10.0): 1.10.0 is offered again.
    markInstalled(commits["1.9.0"] ?? "", "1.9.0");
    expect(await src.check()).toMatchObject({ available: true, current: "1.9.0" });
  });

  it("fetches from a remote given as a URL", async () => {
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const src = source({ remote: `file://${repos.bare}` });
    expect(await src.check()).toMatchObject({ available: true, candidate: `ship/main (${v2.slice(0, 12)})` });
  });

  it("a server that cannot be reached is said in words, whatever the transport (exit 1, not git's text)", async () => {
    const port = await freePort();
    const cases: [string, string][] = [
      [`https://127.0.0.1:${port}/app.git`, `cannot reach the git server at 127.0.0.1 port ${port} (`],
      [
        `ssh://git@127.0.0.1:${port}/app.git`,
        `cannot reach the git server at 127.0.0.1 port ${port} (Connection refused)`,
      ],
      [`git://127.0.0.1:${port}/app.git`, "cannot reach the git server at 127.0.0.1 (Connection refused)"],
      [
        "https://no-such-host.invalid/app.git",
        "cannot reach the git server at no-such-host.invalid (no such host)",
      ],
    ];
    for (const [remote, said] of cases) {
      const error = await source({ remote })
        .check()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(DownloadError);
      expect((error as DownloadError).exitCode).toBe(1);
      expect((error as Error).message).toContain(said);
      expect((error as Error).message).not.toMatch(/fatal:|git fetch failed/);
    }
  });

  // The seed's set-up: `sudo git clone … /opt/myapp`, then ship runs as `ship`. git refuses a
  // clone another user owns; that was exit 1 "git fetch failed: fatal: detected dubious
  // ownership" on every run, naming nothing to change.
  it.skipIf(process.getuid?.() !== 0)(
    "a clone another user owns is bad input naming local_path, and how to fix it",
    async () => {
      await chownTree(repos.clone, 65534);
      const error = await source()
        .check()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(BadInputError);
      expect((error as Error).message).toContain(
        `sources.app.local_path: ${repos.clone} belongs to uid 65534, not to root (uid 0) that ship runs as, and git refuses to work in a clone another user owns ("detected dubious ownership"): chown -R root ${repos.clone}, or trust it (as root): git config --system --add safe.directory ${repos.clone}`,
      );
      await chownTree(repos.clone, 0);
      expect((await source().check()).available).toBe(true);
    },
  );

  it("refuses a tracked symlink that points outside the release", async () => {
    await commitFiles(repos.dev, "2.0.0", {});
    const { symlink } = await import("node:fs/promises");
    await symlink("../../../etc/passwd", join(repos.dev, "config", "evil"));
    await git(repos.dev, "add", "-A");
    await git(repos.dev, "commit", "-q", "-m", "evil");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const stage = await mkdtemp(join(tmp, "stage-"));
    await expect(source().fetch(stage)).rejects.toBeInstanceOf(VerificationError);
    expect(await readdir(stage)).toEqual([]);
  });

  it("an update that turns a symlink into a directory is refused when an unchanged symlink then leaves the release, as its whole export is", async () => {
    // 2.0.0: b -> p/../a/.. lands in x (p -> x/y); installed, with the install index it leaves.
    const { mkdir, symlink } = await import("node:fs/promises");
    await mkdir(join(repos.dev, "x/y"), { recursive: true });
    await writeFile(join(repos.dev, "x/y/q.txt"), "q\n");
    await symlink("x/y", join(repos.dev, "p"));
    await symlink(".", join(repos.dev, "a"));
    await symlink("p/../a/..", join(repos.dev, "b"));
    await commitFiles(repos.dev, "2.0.0", {});
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const first = await source().fetch(await mkdtemp(join(tmp, "stage-")));
    const files: Record<string, IndexedFile> = {};
    for (const [rel, sha256] of first.fileHashes ?? []) {
      const size = (await readFile(join(first.dir, rel))).length;
      files[rel] = { sha256, size, mode: 0o664, mtimeMs: 0, ino: 0 };
    }
    installed = {
      releaseId: first.id,
      version: "2.0.0",
      appDir: join(tmp, "app"),
      files: IndexFiles.of(files),
    };
    // 3.0.0 changes no symlink's target, but p is a directory now: b lands above the release.
    await git(repos.dev, "rm", "-q", "p");
    const v3 = await commitFiles(repos.dev, "3.0.0", { "p/f.txt": "f\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const stage = await mkdtemp(join(tmp, "stage-"));
    const refusal = await source()
      .fetch(stage)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refusal).toBeInstanceOf(VerificationError);
    // Named by the commit it is in, not by ship's own tar file of the export (app.artifact).
    expect(String(refusal)).toContain(
      `origin/main (${v3.slice(0, 12)}): entry "b": symlink resolves outside the release`,
    );
    expect(await readdir(stage)).toEqual([]);
  });

  it("a pinned commit (hub release) exports exactly that commit and checks its tag", async () => {
    const v1 = await git(repos.clone, "rev-parse", "HEAD");
    const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
    await git(repos.dev, "tag", "v2.0.0");
    await commitFiles(repos.dev, "3.0.0", { "app.txt": "v3\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    const cfg = GitSourceConfig.parse({ type: "git", app_dir: join(tmp, "app"), local_path: repos.clone });

    markInstalled(v1, "1.0.0");
    const pinned = new GitSource("app", cfg, ctx, { commit: v2, tag: "v2.0.0" });
    expect(await pinned.check()).toMatchObject({ available: true, current: "1.0.0" });
    const stage = await mkdtemp(join(tmp, "stage-"));
    expect((await pinned.fetch(stage)).id).toBe(v2);
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2\n");

    const wrongTag = new GitSource("app", cfg, ctx, { commit: v1, tag: "v2.0.0" });
    await expect(wrongTag.fetch(await mkdtemp(join(tmp, "stage-")))).rejects.toBeInstanceOf(
      VerificationError,
    );
    const unknown = new GitSource("app", cfg, ctx, { commit: "0123456789abcdef0123456789abcdef01234567" });
    await expect(unknown.check()).rejects.toThrow(/not available from the remote/);
  });

  // A hub release pins a commit off the tracked branch, and the connection breaks while it is
  // fetched by id (the branch's fetch went through): it read "commit X is not available from the
  // remote", not retryable, so the hub's deployment failed for good over a network blip. It is
  // the network fault now, which the agent tries again.
  it("a pinned commit whose fetch by id breaks off is said as that fault, not as missing", async () => {
    await git(repos.dev, "checkout", "-q", "-b", "feature");
    const pinnedCommit = await commitFiles(repos.dev, "2.1.0", { "app.txt": "feature\n" });
    await git(repos.dev, "push", "-q", "origin", "feature");
    const backend = gitHttpHandler(dirname(repos.bare));
    // Git's smart HTTP, whose connection is cut when a request wants the pinned commit.
    const server = await startHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        if (body.includes(pinnedCommit)) return req.socket.destroy();
        const replay = Object.assign(Readable.from([raw]), {
          method: req.method,
          url: req.url,
          headers: req.headers,
        });
        backend(replay as unknown as IncomingMessage, res);
      });
    });
    try {
      const cfg = GitSourceConfig.parse({
        type: "git",
        app_dir: join(tmp, "app"),
        local_path: repos.clone,
        remote: `${server.url}/origin.git`,
      });
      const pinned = new GitSource("app", cfg, ctx, { commit: pinnedCommit });
      const error = await pinned.check().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DownloadError);
      expect((error as Error).message).toContain("git fetch failed: ");
      expect((error as Error).message).not.toContain("not available");
      expect((error as DownloadError).retryable).toBe(true);
    } finally {
      await server.close();
    }
  });
});
