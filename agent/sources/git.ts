/**
 * `type = "git"`: `local_path` is a clone. check() fetches `remote` and compares the installed
 * commit (from the install index) with the remote branch (or, in tag mode, the newest tag matching
 * `tag` by version order). A release is
 * the TREE of that commit, exported with `git archive` and extracted under the archive rules —
 * never the work tree, which may be dirty or be the app itself. An update from a known installed
 * commit stages only the changed blobs, unless git attributes could make the archive differ from
 * the blobs (git-attributes.ts): then it is exported whole too.
 */
import { readdir, rmdir, stat } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, errorMessage, VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { extractArchive } from "../archive/extract.js";
import { DownloadError } from "../download/errors.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { redactUrl, scrubSecrets, urlSecrets } from "../download/redact.js";
import { artifactPathFor, removeArtifact } from "./artifact.js";
import { attributesConfig, attributesOutsideTree, isAttributesFile } from "./git-attributes.js";
import { cloneIsApp, isCommitId, settleCloneWorktree } from "./git-clone-head.js";
import { gitEnvironment, isRemoteUrl, remoteForCommandLine } from "./git-env.js";
import { GitFetchDeadline, GitFetchFailure, runGitFetch } from "./git-fetch.js";
import { lfsPointerError, lfsPointersStaged } from "./git-lfs.js";
import { gitRunner, type RunGit } from "./git-run.js";
import { skippedByInstalled } from "./git-skipped-paths.js";
import {
  diffTree,
  listingOf,
  listTree,
  mustStage,
  strippedTopDir,
  type TreeBlob,
  type TreeDiff,
  writeBlobs,
} from "./git-tree.js";
import {
  abortedTunnelStatus,
  gitProxyCredentialsError,
  proxyStatus,
  unreachableText,
} from "./git-unreachable.js";
import { extractOptionsFor, manifestVersionOf, readReleaseVersion } from "./release-info.js";
import { chooseReleaseTag, skippedText, statedVersion, tagNamesVersion } from "./release-tags.js";
import type {
  FetchedRelease,
  InstalledId,
  InstalledRelease,
  ReleaseSource,
  SourceContext,
  UpdateCheck,
} from "./types.js";

/** A release named by the hub: exactly this commit (and, when given, the tag must point at it). */
export interface GitPin {
  commit: string;
  tag?: string;
}

/** What the clone's `git rev-parse` says: whether it is bare, and its `info/attributes` path. */
interface RepoFacts {
  bare: boolean;
  infoAttributes: string;
}

interface Target {
  commit: string;
  /** The tag, or `<remote>/<branch>`. */
  label: string;
  /** Tag mode: newer pre-release tags passed over for this one (include_prereleases unset). */
  skipped?: string[];
  /** Tag mode: tags matching the pattern that name no version, left out. */
  ignored?: string[];
}

/** Where fetched refs of a URL remote go, so they never clash with the clone's own remotes. */
const URL_REMOTE_NAME = "ship";

/** How servers refuse a fetch by id of a commit they do not have (or will not serve). */
const LACKS_OBJECT =
  /not our ref|unadvertised object|couldn't find remote ref|no such remote ref|bad object/i;

export class GitSource implements ReleaseSource {
  readonly type = "git";
  private readonly git: { raw: RunGit };
  private readonly remoteName: string;
  /** check() fetched: the fetch() that follows installs what it reported, without asking the remote again. */
  private checked = false;
  /** The target check() resolved, reused by that fetch() (one `git rev-parse` process less). */
  private checkedTarget: Target | undefined;
  /** What `git rev-parse` says of the clone, asked once per update (fetch() and commit() both need it). */
  private repo: Promise<RepoFacts> | undefined;
  /** Tag mode: the pre-release tags matching the pattern when no release tag did (for noTagError). */
  private prereleasesOnly: string[] = [];
  /** Tag mode: the tags naming no version when only several such matched (for noTagError). */
  private unorderedOnly: string[] = [];

  constructor(
    readonly name: string,
    private readonly cfg: GitSourceConfig,
    private readonly ctx: SourceContext,
    private readonly pin?: GitPin,
  ) {
    this.git = { raw: gitRunner(cfg.local_path, gitEnvironment(cfg)) };
    this.remoteName = isRemoteUrl(cfg.remote) ? URL_REMOTE_NAME : cfg.remote;
  }

  /**
   * Compares what the install index says is installed with what the remote offers now; the clone's
   * HEAD says nothing (a fresh clone sits on the newest commit while the app may be empty, and a
   * rollback puts the app back without moving the clone).
   */
  async check(): Promise<UpdateCheck> {
    this.checked = false;
    this.checkedTarget = undefined;
    this.repo = undefined;
    // The install index (20,000 entries: tens of ms to parse) is read in full while git fetch runs
    // in its own process, where it costs no wall time, and fetch() then finds it parsed; a fetch
    // failure still decides the outcome, as before.
    const reading = this.ctx.installed?.();
    reading?.catch(() => undefined);
    await this.fetchRemote();
    this.checked = true;
    // The id alone, when the pipeline gives it, is what decides: a --check-only while a killed
    // update waits for recovery compares with the release recovery puts back, not the index's.
    const installed = (await this.ctx.installedId?.()) ?? (await reading);
    const target = await this.target();
    this.checkedTarget = target;
    const current = installed?.version;
    if (target === undefined) throw await this.noTagError();
    const available = installed?.releaseId !== target.commit;
    if (available && installed !== undefined) this.refuseMovedTag(target, installed);
    if (available) await this.refuseTagOfAnotherVersion(target);
    const candidate = `${target.label} (${target.commit.slice(0, 12)})`;
    const detail = available
      ? `${this.name}: update available ${current ?? this.ctx.noneInstalled ?? "(nothing installed)"} -> ${candidate}${this.tagChoice(target)}`
      : `${this.name}: up to date (${current} at ${candidate})${this.tagChoice(target)}`;
    return { available, ...(current === undefined ? {} : { current }), candidate, detail };
  }

  async fetch(stagingDir: string): Promise<FetchedRelease> {
    const checked = this.checked ? this.checkedTarget : undefined;
    if (!this.checked) this.repo = undefined;
    if (!this.checked) await this.fetchRemote();
    this.checked = false;
    this.checkedTarget = undefined;
    const target = checked ?? (await this.target());
    if (target === undefined) throw await this.noTagError();
    if (checked === undefined) await this.refuseTagOfAnotherVersion(target);
    const installed = await this.ctx.installed?.();
    const base = installed?.releaseId;
    if (installed !== undefined && base !== undefined && base !== target.commit && isCommitId(base)) {
      // Four git processes at once, not one after another: the target's listing, the diff (which
      // also proves the clone has the installed commit: it fails when not, and the whole tree is
      // exported), and what the clone's config and git dir say about attributes. The listing is
      // dropped if the diff fails.
      const run = (args: string[]) => this.git.raw(args);
      const submodules: string[] = [];
      const tree = listTree(run, target.commit, submodules);
      const diff = diffTree(run, base, target.commit);
      const outside = this.attributesOutside();
      tree.catch(() => undefined);
      outside.catch(() => undefined);
      const changes = await diff.catch(() => undefined);
      if (changes !== undefined) {
        const why = await this.exportTransforms(changes, tree, outside);
        if (why !== undefined) {
          this.ctx.log.info("exporting the whole tree: git attributes may change what git archive writes", {
            source: this.name,
            commit: target.commit,
            attributes: why,
          });
        } else {
          if ((await tree) !== undefined && submodules.length > 0) {
            this.ctx.log.warn(
              "the release has git submodules: ship installs neither their content nor their directories",
              {
                source: this.name,
                submodules: submodules.slice(0, 5),
              },
            );
          }
          const top = strippedTopDir(await tree, submodules);
          if (top !== undefined) {
            // Its paths are the app's only once that directory is stripped, as the export does.
            this.ctx.log.info("exporting the whole tree: the release is the tree's top directory", {
              source: this.name,
              commit: target.commit,
              directory: top,
            });
          } else {
            const staged = await this.stageChanges(
              base,
              target,
              stagingDir,
              installed,
              tree,
              changes.changed,
            );
            if (staged !== undefined) return staged;
          }
        }
      }
    }
    return this.exportTree(target, stagingDir);
  }

  /**
   * Stages what changed since the installed commit: only those blobs are written, the rest of the
   * listing takes its sha256 from the install index. Undefined (export everything instead) when a
   * symlink changed, since the physical check that a symlink stays inside the release needs the
   * whole tree on disk.
   */
  private async stageChanges(
    base: string,
    target: Target,
    stagingDir: string,
    installed: InstalledRelease,
    treeListing: Promise<Map<string, TreeBlob>>,
    changed: ReadonlySet<string>,
  ): Promise<FetchedRelease | undefined> {
    const [tree, skipped] = await Promise.all([
      treeListing,
      skippedByInstalled((args) => this.git.raw(args), base),
    ]);
    if (skipped === undefined) return undefined;
    const wanted: TreeBlob[] = [];
    for (const [path, blob] of tree) {
      const indexed = installed.files[path];
      // The index knows an unchanged blob's sha256 and size (a merged file's app size is not the
      // blob's: it is written too; a skipped file's entry may be an earlier release's). The
      // planner stages any the app no longer holds (materialize).
      if (
        changed.has(path) ||
        indexed === undefined ||
        indexed.merged === true ||
        mustStage(path) ||
        skipped(path)
      ) {
        if (blob.kind === "symlink" && changed.has(path)) return undefined;
        wanted.push(blob);
      }
    }
    const env = gitEnvironment(this.cfg);
    const limits = extractOptionsFor(this.name, this.cfg);
    const hashes = await writeBlobs(this.cfg.local_path, env, wanted, stagingDir, limits);
    for (const [path, sha] of hashes) {
      const indexed = installed.files[path];
      if (indexed !== undefined && !changed.has(path) && !skipped(path) && indexed.sha256 !== sha) {
        throw new VerificationError(path, "does not match what the install index says this commit holds");
      }
    }
    const listing = listingOf(tree, hashes, (path) => installed.files[path]);
    this.ctx.log.info("staged release changes", {
      source: this.name,
      from: base,
      commit: target.commit,
      ref: target.label,
      changed: changed.size,
      written: wanted.length,
      files: tree.size,
    });
    const fileHashes = new Map([...hashes].filter(([path]) => tree.get(path)?.kind !== "symlink"));
    return {
      dir: stagingDir,
      id: target.commit,
      fileHashes,
      listing,
      materialize: async (rels) => {
        const blobs = rels.map((rel) => tree.get(rel)).filter((b): b is TreeBlob => b !== undefined);
        const written = await writeBlobs(this.cfg.local_path, env, blobs, stagingDir, limits);
        for (const [path, sha] of written) {
          if (listing.files.get(path)?.sha256 !== sha) {
            throw new VerificationError(path, "does not match the release listing");
          }
        }
      },
    };
  }

  /**
   * What could make `git archive` of the target differ from its blobs (see git-attributes.ts): a
   * `.gitattributes` in the target tree or changed since the installed commit, or attributes or
   * core.autocrlf outside the trees. Undefined when nothing does, and the blobs can be staged as
   * they are.
   */
  private async exportTransforms(
    changes: TreeDiff,
    tree: Promise<ReadonlyMap<string, TreeBlob>>,
    outside: Promise<string | undefined>,
  ): Promise<string | undefined> {
    const [listing, elsewhere] = await Promise.all([tree, outside]);
    const files = [...[...listing.keys()].filter(isAttributesFile), ...changes.attributeFiles];
    return files.length > 0 ? [...new Set(files)].join(", ") : elsewhere;
  }

  /** Attributes or core.autocrlf outside the trees (git-attributes.ts), undefined when none. */
  private async attributesOutside(): Promise<string | undefined> {
    const [repo, config] = await Promise.all([this.repoFacts(), attributesConfig(this.git.raw)]);
    return attributesOutsideTree(this.cfg.local_path, gitEnvironment(this.cfg), repo.infoAttributes, config);
  }

  /** One `git rev-parse` for what fetch() and commit() ask of the clone; kept until check() runs again. */
  private repoFacts(): Promise<RepoFacts> {
    this.repo ??= this.git
      .raw(["rev-parse", "--is-bare-repository", "--git-path", "info/attributes"])
      .then((out) => {
        const [bare, infoAttributes] = out.split("\n");
        if (infoAttributes === undefined || infoAttributes === "")
          throw new Error(`git rev-parse said ${JSON.stringify(out)}`);
        return { bare: bare === "true", infoAttributes };
      });
    // A failure is not kept: the next call asks again.
    this.repo.catch(() => {
      this.repo = undefined;
    });
    return this.repo;
  }

  /** First install, or the installed commit is unknown here: the whole tree through `git archive`. */
  private async exportTree(target: Target, stagingDir: string): Promise<FetchedRelease> {
    // Through a tar file so a tracked symlink pointing outside the release is refused like in any archive.
    const artifact = await artifactPathFor(this.ctx, this.name);
    let fileHashes: Map<string, string>;
    try {
      await this.git.raw(["archive", "--format=tar", "-o", artifact, target.commit]);
      const extracted = await extractArchive(artifact, stagingDir, {
        ...extractOptionsFor(this.name, this.cfg),
        onProgress: progressReporter({
          label: `${target.label} (${target.commit.slice(0, 12)})`,
          log: this.ctx.log,
          action: "extracting",
          delayMs: PROGRESS_DELAY_MS,
        }),
      });
      // git tracks no empty directories: every one in the export is a submodule's placeholder,
      // which ship does not install (and would otherwise create as the release's empty directory).
      await removeEmptyDirs(stagingDir);
      const pointers = await lfsPointersStaged((args) => this.git.raw(args), target.commit, stagingDir);
      if (pointers.length > 0)
        throw lfsPointerError(`${this.name}: ${target.label} (${target.commit.slice(0, 12)})`, pointers);
      fileHashes = extracted.hashes;
      this.ctx.log.info("exported release tree", {
        source: this.name,
        commit: target.commit,
        ref: target.label,
        version: await readReleaseVersion(stagingDir),
        files: extracted.files,
        bytes: extracted.bytes,
      });
    } finally {
      await removeArtifact(artifact);
    }
    return { dir: stagingDir, id: target.commit, fileHashes };
  }

  /**
   * Move the clone to the installed commit. When the clone IS the app (local_path == app_dir) the
   * pipeline already wrote the tree, so `reset --mixed` moves HEAD and the index only: preserved
   * and merged files stay as the pipeline left them, and git-clone-head.ts's settleCloneWorktree
   * keeps ship's choices out of `git status`. A separate clone uses `reset --keep`, which
   * updates its work tree but refuses to throw away local edits.
   */
  async commit(release: FetchedRelease): Promise<void> {
    // A bare repository (README: "a work tree or a bare repository") has no work tree or index to
    // move; what is installed is the install index's record either way.
    if ((await this.repoFacts()).bare) return;
    const reset = () =>
      this.git.raw(["reset", cloneIsApp(this.cfg) ? "--mixed" : "--keep", "-q", release.id]);
    try {
      await reset();
    } catch {
      if (!cloneIsApp(this.cfg) && (await this.revParse("HEAD")) === undefined) {
        // An unborn HEAD (asked only now: reset refused it and changed nothing): a clone of a
        // repository whose HEAD names a branch it does not have (`git init --bare` says master, CI
        // pushes main; git warns and checks nothing out). `reset --keep` needs a HEAD; checking the
        // commit out detached does the same here and, like --keep, refuses to overwrite untracked
        // files. Later runs move the detached HEAD with `reset --keep`.
        await this.git.raw(["checkout", "-q", "--detach", release.id]);
        return;
      }
      // Stale stat info (a restored backup, a copied clone) makes --keep see phantom edits: refresh
      // it (a stat of every tracked file, so only when needed) and try once more.
      await this.git.raw(["update-index", "-q", "--refresh"]).catch(() => undefined);
      await reset();
    }
    if (cloneIsApp(this.cfg)) {
      // What the work tree differs from HEAD by ship's choice must not read as an edit.
      const files = (await this.ctx.installed?.())?.files;
      if (files !== undefined) await settleCloneWorktree(this.cfg.local_path, files, this.ctx.log);
    }
  }

  /**
   * Tag mode reads the remote's tags from a namespace of their own that each fetch prunes: the
   * clone's refs/tags keep a tag the remote deleted (a release withdrawn after it was found bad)
   * and any tag made by hand in the clone, and the newest of those was installed as the release.
   */
  private remoteTags(): string {
    return `refs/ship/tags/${this.remoteName}`;
  }

  private async fetchRemote(): Promise<void> {
    const tagMode = this.cfg.tag !== undefined;
    const refspecs = [
      tagMode
        ? `+refs/tags/*:${this.remoteTags()}/*`
        : `+refs/heads/${this.cfg.branch}:refs/remotes/${this.remoteName}/${this.cfg.branch}`,
    ];
    if (this.pin?.tag !== undefined) refspecs.push(`+refs/tags/${this.pin.tag}:refs/tags/${this.pin.tag}`);
    await this.gitFetch(refspecs, tagMode);
  }

  private async gitFetch(refspecs: string[], prune = false): Promise<void> {
    const deadlineMs = this.cfg.max_download_seconds * 1000;
    try {
      await runGitFetch(
        [
          "fetch",
          "--quiet",
          "--no-write-fetch-head",
          ...(prune ? ["--prune"] : []),
          remoteForCommandLine(this.cfg.remote),
          ...refspecs,
        ],
        { cwd: this.cfg.local_path, env: gitEnvironment(this.cfg), deadlineMs },
      );
    } catch (err) {
      if (err instanceof GitFetchFailure && err.timedOut) {
        throw new GitFetchDeadline(
          await this.shownRemote(),
          `git fetch not done after ${deadlineMs / 1000} s, the most [sources.${this.name}] max_download_seconds allows: the remote sends too slowly or holds the connection open; the next run tries again`,
          false,
        );
      }
      throw (
        (await this.missingRefError(err)) ??
        (await this.unknownRemoteError(err)) ??
        (await this.fetchError(err))
      );
    }
  }

  /**
   * `remote` is a name the clone does not have (a typo, or a remote removed): git says "'nope' does
   * not appear to be a git repository", which was exit 1 "download failed" on every run. A retry
   * never fixes it, so it is bad input naming the key and the remotes the clone has. Asked only
   * after a failed fetch: the happy path runs no extra git process.
   */
  private async unknownRemoteError(err: unknown): Promise<Error | undefined> {
    const text = errorMessage(err);
    if (isRemoteUrl(this.cfg.remote) || !/does not appear to be a git repository/.test(text))
      return undefined;
    const remotes = (await this.git.raw(["remote"]).catch(() => "")).split("\n").filter((r) => r !== "");
    if (remotes.includes(this.cfg.remote)) return undefined;
    const known = remotes.length === 0 ? "it has none" : `its remotes: ${remotes.join(", ")}`;
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.remote`,
      `the clone at ${this.cfg.local_path} has no remote "${this.cfg.remote}" (${known}); name one of them or give the repository's URL`,
    );
  }

  /**
   * The remote answered but lacks what the config (or the hub's release) names: no branch, or no
   * such tag. That is a wrong value, not a network fault, so it is bad input naming the key, not
   * git's "couldn't find remote ref" behind an exit 1 that a retry would never fix.
   */
  private async missingRefError(err: unknown): Promise<Error | undefined> {
    const text = errorMessage(err);
    const missing = /couldn't find remote ref (\S+)/.exec(text)?.[1];
    if (missing === undefined) return undefined;
    if (missing === `refs/heads/${this.cfg.branch}` && this.cfg.tag === undefined)
      return this.noBranchError();
    const where = await this.shownRemote();
    if (this.pin?.tag !== undefined && missing === `refs/tags/${this.pin.tag}`) {
      return new VerificationError(`git tag ${this.pin.tag}`, `the remote ${where} has no such tag`);
    }
    return undefined;
  }

  /**
   * `branch` the remote does not have, with the branch its HEAD names when that is another: a
   * remote whose default branch was renamed (master to main), or an older repository's master
   * under the default branch = "main", said only "has no branch".
   */
  private async noBranchError(): Promise<BadInputError> {
    const where = await this.shownRemote();
    const listed = await this.git
      .raw(["ls-remote", "--symref", remoteForCommandLine(this.cfg.remote), "HEAD"])
      .catch(() => "");
    const head = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(listed)?.[1];
    const hint =
      head === undefined || head === this.cfg.branch
        ? ""
        : `; its default branch is "${head}" (renamed?): set branch = "${head}" if that is the one to follow`;
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.branch`,
      `the remote ${where} has no branch "${this.cfg.branch}"${hint}`,
    );
  }

  /** A tag pattern nothing on the remote matches names no release: exit 2 naming the key. */
  private async noTagError(): Promise<BadInputError> {
    const only = this.prereleasesOnly;
    const unordered = this.unorderedOnly;
    if (unordered.length > 0)
      return BadInputError.single(
        "ship.toml",
        `sources.${this.name}.tag`,
        `the tags matching "${this.cfg.tag}" name no version (${skippedText(unordered)}): ship cannot tell which is newest; match tags with versions (release-1.2.0) or one tag`,
      );
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.tag`,
      only.length === 0
        ? `no tag from the remote ${await this.shownRemote()} matches "${this.cfg.tag}"`
        : `no release tag from the remote ${await this.shownRemote()} matches "${this.cfg.tag}", only pre-releases (${skippedText(only)}), which are skipped: set include_prereleases = true to install them`,
    );
  }

  /** How check() names a tag-mode choice that passed over newer pre-releases or tags naming no version. */
  private tagChoice(target: Target): string {
    const skipped = target.skipped ?? [];
    const ignored = target.ignored ?? [];
    const prereleases =
      skipped.length === 0
        ? ""
        : `; newest release tag matching "${this.cfg.tag}", skipped pre-release${skipped.length === 1 ? "" : "s"} ${skippedText(skipped)} (include_prereleases = true takes them)`;
    return ignored.length === 0
      ? prereleases
      : `${prereleases}; ignored tags naming no version: ${skippedText(ignored)}`;
  }

  private async target(): Promise<Target | undefined> {
    if (this.pin !== undefined) return this.pinnedTarget(this.pin);
    if (this.cfg.tag === undefined) {
      const label = `${this.remoteName}/${this.cfg.branch}`;
      const commit = await this.revParse(`refs/remotes/${label}^{commit}`);
      if (commit === undefined) throw await this.noBranchError();
      return { commit, label };
    }
    const namespace = this.remoteTags();
    const refs = await this.git.raw(["for-each-ref", "--format=%(refname)", `${namespace}/${this.cfg.tag}`]);
    const tags = refs
      .split("\n")
      .filter((ref) => ref !== "")
      .map((ref) => ref.slice(namespace.length + 1));
    const { newest, skipped, ignored, unordered } = chooseReleaseTag(tags, this.cfg.include_prereleases);
    this.prereleasesOnly = newest === undefined ? skipped : [];
    this.unorderedOnly = unordered;
    if (ignored.length > 0) this.ctx.log.debug("tags naming no version ignored", { tags: ignored });
    if (newest === undefined) return undefined;
    const commit = await this.revParse(`${namespace}/${newest}^{commit}`);
    return commit === undefined ? undefined : { commit, label: newest, skipped, ignored };
  }

  /**
   * In tag mode, the newest tag names the installed version but another commit: the tag was moved
   * (force-pushed) after this host installed it. Installing it would put other code under the same
   * version, silently ("updated 1.0.0 → 1.0.0"); a published version must not change, so it is
   * refused (exit 2) until a new version is tagged.
   */
  private refuseMovedTag(target: Target, installed: InstalledId): void {
    if (this.pin !== undefined || this.cfg.tag === undefined) return;
    const was = installed.releaseId;
    if (was === undefined || !isCommitId(was) || !tagNamesVersion(target.label, installed.version)) return;
    throw new VerificationError(
      `git tag ${target.label}`,
      `moved: it points to ${target.commit.slice(0, 12)}, but version ${installed.version} was installed here from ${was.slice(0, 12)}; a released version must not change: tag the new commit with a new version`,
    );
  }

  /**
   * In tag mode, a version tag whose commit's manifest names another version (`git tag v2.2.0` with
   * `version: "2.1.0"` left in update-manifest.yaml): the run said "updated 2.0.0 → 2.1.0" after
   * v2.2.0 was tagged, and a later v2.3.0 tagged the same way reinstalled "2.1.0" with other code,
   * its migrations not run. Refused (exit 2) as the hub refuses such a release; a tag that states
   * no version (`release-7`, `stable`: release-tags.ts statedVersion) is not compared.
   */
  private async refuseTagOfAnotherVersion(target: Target): Promise<void> {
    const stated = statedVersion(target.label);
    if (this.pin !== undefined || this.cfg.tag === undefined || stated === undefined) return;
    const manifest = await this.git
      .raw(["show", `${target.commit}:${MANIFEST_FILENAME}`])
      .catch(() => undefined);
    const version = manifest === undefined ? undefined : manifestVersionOf(manifest);
    if (version === undefined || tagNamesVersion(target.label, version)) return;
    throw new VerificationError(
      `git tag ${target.label}`,
      `its ${MANIFEST_FILENAME} says version "${version}": the tag and the manifest must name one version (commit version: "${stated}" and move the tag to it, or release with ship release git, which does both); nothing was installed`,
    );
  }

  private async pinnedTarget(pin: GitPin): Promise<Target> {
    let commit = await this.revParse(`${pin.commit}^{commit}`);
    if (commit === undefined || !(await this.complete(commit))) {
      // Not on the branch we track: ask for the commit itself (servers allow reachable commits).
      // Only the remote's word that it lacks the commit means "not available": a network fault or
      // the deadline was read as that too, and failed the hub's deployment for good.
      await this.gitFetch([pin.commit]).catch((err: unknown) => {
        if (
          !(err instanceof DownloadError) ||
          err instanceof GitFetchDeadline ||
          !LACKS_OBJECT.test(err.message)
        )
          throw err;
      });
      commit = await this.revParse(`${pin.commit}^{commit}`);
      if (commit !== undefined && !(await this.complete(commit))) commit = undefined;
    }
    if (commit === undefined) {
      throw new DownloadError(
        await this.shownRemote(),
        `commit ${pin.commit} is not available from the remote`,
        false,
      );
    }
    if (pin.tag !== undefined) {
      const tagged = await this.revParse(`refs/tags/${pin.tag}^{commit}`);
      if (tagged !== commit) {
        throw new VerificationError(
          `git tag ${pin.tag}`,
          `points to ${tagged ?? "nothing"}, not to the release's commit ${commit}`,
        );
      }
    }
    return { commit, label: pin.tag ?? commit.slice(0, 12) };
  }

  /**
   * Whether every object of `commit` is in the clone. A fetch cut off mid-transfer (the deadline,
   * a dropped connection) leaves the loose objects that arrived: the commit, without its blobs. A
   * ref is only written once a fetch is whole, but a pinned commit is fetched by id, so finding it
   * proved nothing and every later try exported it: "invalid object …", for good. Only what no ref
   * reaches is walked, so a commit on a fetched branch costs nothing.
   */
  private async complete(commit: string): Promise<boolean> {
    try {
      await this.git.raw(["rev-list", "--quiet", "--objects", commit, "--not", "--all"]);
      return true;
    } catch {
      return false;
    }
  }

  private async revParse(ref: string): Promise<string | undefined> {
    try {
      return (await this.git.raw(["rev-parse", "--verify", "--quiet", ref])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  private async fetchError(err: unknown): Promise<Error> {
    const text = errorMessage(err);
    const where = await this.shownRemote();
    if (
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(
        text,
      )
    ) {
      return new VerificationError(`git remote ${where}`, hostKeyText(text, this.cfg.known_hosts));
    }
    // ssh could not load key_filename (not a key, or encrypted: git's ssh runs in batch mode and
    // cannot ask for a passphrase). A retry never helps: bad input naming the key, not exit 1.
    const loadKey = /Load key "([^"]*)": ([^\n]*)/.exec(text);
    if (loadKey !== null && this.cfg.key_filename !== undefined) {
      return BadInputError.single(
        "ship.toml",
        `sources.${this.name}.key_filename`,
        `ssh cannot use ${loadKey[1]}: ${loadKey[2]?.trim()} (git needs a key without a passphrase)`,
      );
    }
    const ownership = await this.dubiousOwnershipError(text);
    if (ownership !== undefined) return ownership;
    const firstLine = text.split("\n").find((l) => l.trim() !== "") ?? text;
    // git drops user:password@ from the URLs it quotes, not the query: scrub what the remote holds.
    const said = scrubSecrets(firstLine.trim(), urlSecrets(this.cfg.remote));
    const refused = this.refusedError(text, said, where);
    if (refused !== undefined) return refused;
    const aborted = proxyStatus(text) === undefined ? await abortedTunnelStatus(text) : undefined;
    const status = proxyStatus(text) ?? aborted?.status;
    const proxyRefused = gitProxyCredentialsError(text, status, aborted?.offeredSchemes);
    if (proxyRefused !== undefined) return proxyRefused;
    const unreachable = unreachableText(scrubSecrets(text, urlSecrets(this.cfg.remote)), status);
    if (unreachable !== undefined) return new DownloadError(where, unreachable, true);
    return new DownloadError(where, `git fetch failed: ${said}`, true);
  }

  /**
   * The clone belongs to another user than the one ship runs as (the seed's `sudo git clone`, then
   * ship as `ship`): git refuses to work in it. It was exit 1 "download failed: git fetch failed:
   * fatal: detected dubious ownership", on every run, naming nothing to change; no retry heals it.
   */
  private async dubiousOwnershipError(text: string): Promise<BadInputError | undefined> {
    if (!/detected dubious ownership in repository/.test(text)) return undefined;
    const path = this.cfg.local_path;
    const owner = await stat(path).then(
      (s) => `uid ${s.uid}`,
      () => "another user",
    );
    const me = userInfo();
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.local_path`,
      `${path} belongs to ${owner}, not to ${me.username} (uid ${me.uid}) that ship runs as, and git refuses to work in a clone another user owns ("detected dubious ownership"): chown -R ${me.username} ${path}, or trust it (as root): git config --system --add safe.directory ${path}`,
    );
  }

  /**
   * The remote answered, and has no repository there or refused who we are: a retry never fixes
   * either, so it is bad input naming the key to change (as a 404 or 401 is for an http source),
   * not "git fetch failed" behind exit 1 on every run. A remote URL (or path) with nothing at it;
   * https credentials refused (headers, or none set); an ssh key the server does not accept.
   */
  private refusedError(text: string, said: string, where: string): BadInputError | undefined {
    const key = (k: string) => `sources.${this.name}.${k}`;
    const lastLine = said.replace(/^fatal: /, "");
    if (
      isRemoteUrl(this.cfg.remote) &&
      /repository '[^']*' not found|does not appear to be a git repository|Repository not found/i.test(text)
    )
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where} has no repository (git: ${lastLine})`,
      );
    if (/Authentication failed|returned error: 40[13]|could not read Username/i.test(text)) {
      const headers = Object.keys(this.cfg.headers);
      if (remoteForCommandLine(this.cfg.remote) !== this.cfg.remote)
        return BadInputError.single(
          "ship.toml",
          key("remote"),
          `${where} refused the user and password in the URL: check or renew them (git: ${lastLine})`,
        );
      return headers.length === 0
        ? BadInputError.single(
            "ship.toml",
            key("remote"),
            `${where} refused the request: it needs credentials; set them in [sources.${this.name}.headers] (git: ${lastLine})`,
          )
        : BadInputError.single(
            "ship.toml",
            key("headers"),
            `${where} refused the credentials sent (headers ${headers.join(", ")}): check or renew them (git: ${lastLine})`,
          );
    }
    // With headers set git follows no redirect (gitEnvironment: the token must not reach another
    // host), and said only "The requested URL returned error: 302", exit 1, on every run.
    const redirect = /returned error: (30[1278])\b/.exec(text);
    if (redirect !== null && Object.keys(this.cfg.headers).length > 0)
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where} redirects (HTTP ${redirect[1]}), and git follows no redirect while [sources.${this.name}.headers] are set, so the token cannot reach another host: set remote to the URL it redirects to (curl -sI on the remote's URL plus /info/refs?service=git-upload-pack shows it as Location)`,
      );
    // OpenSSL builds of git say the first, GnuTLS ones (Debian's) the second; then a name mismatch.
    const tls =
      /SSL certificate problem: [^\n]*|server certificate verification failed[^\n]*|SSL: (?:no alternative )?certificate subject name[^\n]*/.exec(
        text,
      );
    if (tls !== null)
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where}: git cannot verify the server's certificate (${tls[0].trim()}); for a private CA run: git -C ${this.cfg.local_path} config http.sslCAInfo /path/to/ca.pem`,
      );
    if (/Permission denied \(publickey/.test(text))
      return BadInputError.single(
        "ship.toml",
        key("key_filename"),
        `${where} does not accept ${this.cfg.key_filename === undefined ? "ssh's default keys: set key_filename" : `the key ${this.cfg.key_filename}`} (Permission denied (publickey))`,
      );
    return undefined;
  }

  /**
   * The remote as messages name it: a URL as configured (credentials masked); a remote name with
   * the URL the clone gives it (`origin (https://git.example.com/app.git)`), since "origin" alone
   * does not say which server to look at. Asked of git only when a message needs it.
   */
  private async shownRemote(): Promise<string> {
    const remote = this.cfg.remote;
    if (isRemoteUrl(remote)) return shownUrl(remote);
    const url = (await this.git.raw(["remote", "get-url", remote]).catch(() => "")).trim();
    return url === "" ? remote : `${remote} (${shownUrl(url)})`;
  }
}

/** Removes every empty directory below `root` (children first; `root` itself stays). */
async function removeEmptyDirs(root: string, rel = ""): Promise<boolean> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  let left = entries.length;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (await removeEmptyDirs(root, child)) left--;
  }
  if (rel === "" || left > 0) return false;
  await rmdir(join(root, rel));
  return true;
}

/**
 * A remote URL with its user:password@ and secret query values masked; a path or scp-style address
 * as is. An ssh:// URL's user is the login, no secret (ssh takes no password from a URL), and the
 * one thing to check when the server refuses the key: "ssh://***@host" hid it, while the same remote
 * written `deploy@host:app.git` showed it.
 */
function shownUrl(url: string): string {
  if (/^ssh:\/\//i.test(url) && URL.canParse(url)) {
    const parsed = new URL(url);
    if (parsed.password === "" && parsed.search === "") return url;
  }
  return url.includes("://") ? redactUrl(url) : url;
}

/**
 * ssh's refusal of the server's host key, in words that tell the two cases apart: a changed key
 * (the server was reinstalled, or someone is in between) is not fixed by adding a line, as an
 * unknown host is; both were "host key not trusted".
 */
function hostKeyText(sshSaid: string, knownHosts: string | undefined): string {
  const file = knownHosts ?? "ssh's default known_hosts";
  const fingerprint = /(SHA256:[A-Za-z0-9+/]+)/.exec(sshSaid)?.[1];
  const presented = fingerprint === undefined ? "" : ` (the server presented ${fingerprint})`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(sshSaid)) {
    const line = /Offending \S+ key in (\S+):(\d+)/.exec(sshSaid);
    const where = line === null ? file : `${line[1]}, line ${line[2]}`;
    return `HOST KEY MISMATCH: the server's host key is not the one in ${where}${presented} (reinstalled, or a man-in-the-middle?); check the fingerprint with the server's admin, then replace that line`;
  }
  const host = /host key is known for (\S+)/i.exec(sshSaid)?.[1];
  return `host key not trusted: ${host ?? "the host"} is not in ${file}${presented}; add its key there (ssh-keyscan) after checking it. StrictHostKeyChecking is always on`;
}
