/**
 * `type = "git"`: `local_path` is a clone. check() fetches `remote` and compares the installed
 * commit (from the install index) with the remote branch (or, in tag mode, the newest tag matching
 * `tag` by version order). A release is
 * the TREE of that commit, exported with `git archive` and extracted under the archive rules —
 * never the work tree, which may be dirty or be the app itself. An update from a known installed
 * commit stages only the changed blobs, unless git attributes could make the archive differ from
 * the blobs (git-attributes.ts): then it is exported whole too. The parts: git-stage.ts (an update
 * from the installed commit), git-export.ts (the whole tree), git-remote-errors.ts (what a failed
 * fetch means).
 */
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import { cloneConfig, remoteUrls } from "../../shared/git-clone-config.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { timerMs } from "../../shared/schema/durations.js";
import { mbSetting } from "../archive/limits.js";
import { DownloadError } from "../download/errors.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { cloneIsApp, isCommitId, settleCloneWorktree } from "./git-clone-head.js";
import { gitEnvironment, isRemoteUrl, remoteForCommandLine } from "./git-env.js";
import { exportTree } from "./git-export.js";
import { GitFetchDeadline, GitFetchFailure, runGitFetch } from "./git-fetch.js";
import { packDirOf } from "./git-pack-size.js";
import { isPartialClone, missingObjects } from "./git-partial.js";
import { restoreRefs, snapshotRefs } from "./git-refs-snapshot.js";
import { GitRemoteErrors } from "./git-remote-errors.js";
import { gitRunner, type RunGit } from "./git-run.js";
import { stageFromInstalled } from "./git-stage.js";
import { releaseName } from "./git-tree.js";
import { manifestVersionOf } from "./release-info.js";
import {
  chooseReleaseTag,
  skippedText,
  statedVersion,
  tagChoiceText,
  tagNamesVersion,
} from "./release-tags.js";
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

/** What `git rev-parse` is asked of the clone (RepoFacts), in this order. */
const FACTS = ["rev-parse", "--is-bare-repository", "--git-path", "info/attributes"];

/** RepoFacts from the first two lines of FACTS' answer; undefined when they are not there. */
function factsOf(out: string): RepoFacts | undefined {
  const [bare, infoAttributes] = out.split("\n");
  if (infoAttributes === undefined || infoAttributes === "") return undefined;
  return { bare: bare === "true", infoAttributes };
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
  /** What a failed fetch means, and how messages name the remote. */
  private readonly errors: GitRemoteErrors;
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
    // Its ls-remote reaches the remote as the fetch does: with the clone URL's credentials taken out.
    const remoteRun: RunGit = async (args) => gitRunner(cfg.local_path, await this.remoteEnvironment())(args);
    this.errors = new GitRemoteErrors(name, cfg, remoteRun, pin?.tag);
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
    const reading = await this.fetchReadingIndex();
    this.checked = true;
    // The id alone, when the pipeline gives it, is what decides: a --check-only while a killed
    // update waits for recovery compares with the release recovery puts back, not the index's.
    const installed = (await this.ctx.installedId?.()) ?? (await reading.read);
    const target = await this.target();
    this.checkedTarget = target;
    const current = installed?.version;
    if (target === undefined) throw await this.noTagError();
    await this.fillPartialClone(target);
    const available = installed?.releaseId !== target.commit;
    if (available && installed !== undefined) this.refuseMovedTag(target, installed);
    if (available) await this.refuseTagOfAnotherVersion(target);
    const candidate = releaseName(target);
    const detail = available
      ? `${this.name}: update available ${current ?? this.ctx.noneInstalled ?? "(nothing installed)"} -> ${candidate}${tagChoiceText(this.cfg.tag, target)}`
      : `${this.name}: up to date (${current} at ${candidate})${tagChoiceText(this.cfg.tag, target)}`;
    return { available, ...(current === undefined ? {} : { current }), candidate, detail };
  }

  async fetch(stagingDir: string): Promise<FetchedRelease> {
    const checked = this.checked ? this.checkedTarget : undefined;
    if (!this.checked) this.repo = undefined;
    if (!this.checked) await this.fetchReadingIndex();
    this.checked = false;
    this.checkedTarget = undefined;
    const target = checked ?? (await this.target());
    if (target === undefined) throw await this.noTagError();
    if (checked === undefined) await this.fillPartialClone(target);
    if (checked === undefined) await this.refuseTagOfAnotherVersion(target);
    const installed = await this.ctx.installed?.();
    const base = installed?.releaseId;
    if (installed !== undefined && base !== undefined && base !== target.commit && isCommitId(base)) {
      const staged = await stageFromInstalled({
        name: this.name,
        cfg: this.cfg,
        log: this.ctx.log,
        run: this.git.raw,
        base,
        installed,
        target,
        stagingDir,
        infoAttributes: async () => (await this.repoFacts()).infoAttributes,
      });
      if (staged !== undefined) return staged;
    }
    return exportTree({
      name: this.name,
      cfg: this.cfg,
      ctx: this.ctx,
      run: this.git.raw,
      target,
      stagingDir,
    });
  }

  /** One `git rev-parse` for what fetch() and commit() ask of the clone; kept until check() runs again. */
  private repoFacts(): Promise<RepoFacts> {
    this.repo ??= this.git.raw(FACTS).then((out) => {
      const facts = factsOf(out);
      if (facts === undefined) throw new Error(`git rev-parse said ${JSON.stringify(out)}`);
      return facts;
    });
    // A failure is not kept: the next call asks again.
    this.repo.catch(() => {
      this.repo = undefined;
    });
    return this.repo;
  }

  /**
   * The commit a branch's remote-tracking ref names, asked in the `git rev-parse` that also says
   * what repoFacts() asks: one git process fewer, alone on the path between the fetch and staging.
   */
  /**
   * git's environment for a command that reaches the remote: with a `remote` that is a name, the
   * URL the clone's config gives it is read each time (a file read, no git process), so a
   * user:password@ in it goes by the credential helper, never on git-remote-https's command line.
   */
  private async remoteEnvironment(): Promise<Record<string, string>> {
    if (isRemoteUrl(this.cfg.remote)) return gitEnvironment(this.cfg);
    const clone = await cloneConfig(this.cfg.local_path);
    return gitEnvironment(
      this.cfg,
      clone === undefined ? undefined : remoteUrls(clone.text, this.cfg.remote)[0],
    );
  }

  private async branchTip(ref: string): Promise<string | undefined> {
    let out: string;
    try {
      // A missing ref is exit 1 with nothing on stderr: an answer (git-run.ts), the facts still said.
      out = await this.git.raw([...FACTS, "--verify", "--quiet", ref]);
    } catch {
      return undefined;
    }
    const facts = factsOf(out);
    if (facts !== undefined) this.repo ??= Promise.resolve(facts);
    const commit = out.split("\n")[2]?.trim();
    return commit === undefined || commit === "" ? undefined : commit;
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

  /**
   * Fetches while the install index (20,000 entries: tens of ms to read and parse) is read, so that
   * its parse costs no wall time and what follows finds it parsed. The index is read synchronously
   * inside its promise: asked before the fetch, as it was, it held the main thread before git was
   * even started. A fetch failure still decides the outcome.
   */
  private async fetchReadingIndex(): Promise<{ read: Promise<InstalledRelease | undefined> | undefined }> {
    // Read once git fetch has started (after the refs a refusal would put back are read): the
    // child runs while the index is parsed.
    let read: Promise<InstalledRelease | undefined> | undefined;
    await this.fetchRemote(() => {
      read = this.ctx.installed?.();
      read?.catch(() => undefined);
    });
    return { read };
  }

  private async fetchRemote(onStarted?: () => void): Promise<void> {
    const tagMode = this.cfg.tag !== undefined;
    const refspecs = [
      tagMode
        ? `+refs/tags/*:${this.remoteTags()}/*`
        : `+refs/heads/${this.cfg.branch}:refs/remotes/${this.remoteName}/${this.cfg.branch}`,
    ];
    if (this.pin?.tag !== undefined) refspecs.push(`+refs/tags/${this.pin.tag}:refs/tags/${this.pin.tag}`);
    await this.gitFetch(refspecs, tagMode, undefined, onStarted);
  }

  /** Where the clone keeps its packs (asked of git only when the layout is not the usual one). */
  private packDir(): Promise<string | undefined> {
    return packDirOf(this.cfg.local_path, () =>
      this.git
        .raw(["rev-parse", "--git-path", "objects/pack"])
        .then((out) => out.trim() || undefined)
        .catch(() => undefined),
    );
  }

  /**
   * In a partial clone, fetches what the target's commit lacks (git-partial.ts) as one fetch under
   * max_download_mb and max_download_seconds, so no later git command fetches it unbounded. Asked
   * again while trees arrive, since a missing tree hides the objects below it.
   */
  private async fillPartialClone(target: Target): Promise<void> {
    const { commit } = target;
    if (!(await isPartialClone(await this.packDir()))) return;
    let asked = new Set<string>();
    for (;;) {
      const missing = await missingObjects(this.git.raw, commit);
      if (missing.length === 0) return;
      if (missing.every((id) => asked.has(id)))
        throw new DownloadError(
          await this.errors.shownRemote(),
          `${releaseName(target)}: ${missing.length} object(s) of the release are not in the partial clone ${this.cfg.local_path} and the remote did not send them (first: ${missing[0]})`,
          false,
        );
      asked = new Set(missing);
      await this.gitFetch([], false, missing);
    }
  }

  private async gitFetch(
    refspecs: string[],
    prune = false,
    objects?: readonly string[],
    onStarted?: () => void,
  ): Promise<void> {
    const deadlineMs = timerMs(this.cfg.max_download_seconds);
    let kept: number;
    try {
      kept = await runGitFetch(
        [
          "fetch",
          // Not --quiet, which silences the count of objects received too: git-progress.ts keeps
          // out of the output what --quiet would have.
          "--progress",
          "--no-write-fetch-head",
          // Never the submodules' remotes (git's on-demand default, or the clone's
          // fetch.recurseSubmodules): their packs land in .git/modules, outside the size watch, and
          // ship installs no submodule's content (git-stage.ts), so nothing of them is needed.
          "--no-recurse-submodules",
          // A remote that is itself a shallow clone (a mirror kept at depth 1) starts a new shallow
          // root with each update: without this git refuses the ref with a warning and exits 0,
          // and the run said "up to date" at the old commit for ever.
          "--update-shallow",
          ...(prune ? ["--prune"] : []),
          // Object ids to fetch by (a partial clone's missing ones), as many as a tree holds.
          ...(objects === undefined ? [] : ["--no-tags", "--stdin"]),
          remoteForCommandLine(this.cfg.remote),
          ...refspecs,
        ],
        {
          cwd: this.cfg.local_path,
          env: await this.remoteEnvironment(),
          deadlineMs,
          ...(objects === undefined ? {} : { stdin: `${objects.join("\n")}\n` }),
          ...(onStarted === undefined ? {} : { onStarted }),
          size: {
            maxBytes: Math.floor(this.cfg.max_download_mb * 1024 * 1024),
            packDir: this.packDir(),
            snapshotRefs: () => snapshotRefs(this.git.raw),
            restoreRefs: (to) => restoreRefs(this.git.raw, to),
          },
          onProgress: progressReporter({
            label: this.name,
            log: this.ctx.log,
            action: "fetching",
            unit: "objects",
            delayMs: PROGRESS_DELAY_MS,
          }),
        },
      );
    } catch (err) {
      if (err instanceof GitFetchFailure && err.overBytes !== undefined) {
        const setting = mbSetting(`[sources.${this.name}] max_download_mb`, this.cfg.max_download_mb);
        const received = `${(err.overBytes / 1024 / 1024).toFixed(2)} MB received`;
        throw new VerificationError(
          `git fetch from ${await this.errors.shownRemote()}`,
          err.notRemoved === undefined
            ? `the pack runs past ${setting} (${received}): the fetch was refused and what it received removed, nothing installed; raise the limit if a release brings that much`
            : `the pack runs past ${setting} (${received}): the fetch was refused, nothing installed, but what it received is still in ${this.cfg.local_path} (putting its refs back failed: ${err.notRemoved}); raise the limit if a release brings that much`,
        );
      }
      if (err instanceof GitFetchFailure && err.timedOut) {
        throw new GitFetchDeadline(
          await this.errors.shownRemote(),
          `git fetch not done after ${deadlineMs / 1000} s, the most [sources.${this.name}] max_download_seconds allows: the remote sends too slowly or holds the connection open; the next run tries again`,
          false,
        );
      }
      throw await this.errors.fetchFailure(err);
    }
    if (kept > 0) await this.afterKeptFetch();
  }

  /**
   * What git's fetch would have done after receiving, held off in ship's (git-fetch.ts) so that a
   * refused fetch leaves nothing naming its removed pack: the clone's commit-graph when it asks for
   * one (fetch.writeCommitGraph), then auto gc. Neither is the fetch's outcome: a failure is git's to
   * retry on the next kept fetch.
   */
  private async afterKeptFetch(): Promise<void> {
    const graph = await this.git.raw(["config", "--type=bool", "fetch.writeCommitGraph"]).catch(() => "");
    if (graph.trim() === "true") {
      await this.git
        .raw(["commit-graph", "write", "--reachable", "--split", "--no-progress"])
        .catch(() => undefined);
    }
    await this.git.raw(["maintenance", "run", "--auto", "--quiet"]).catch(() => undefined);
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
        ? `no tag from the remote ${await this.errors.shownRemote()} matches "${this.cfg.tag}"${await this.branchHint()}`
        : `no release tag from the remote ${await this.errors.shownRemote()} matches "${this.cfg.tag}", only pre-releases (${skippedText(only)}), which are skipped: set include_prereleases = true to install them`,
    );
  }

  /** A `tag` that names a branch of the remote (`tag = "main"`) is said to, with the key to use. */
  private async branchHint(): Promise<string> {
    const branches = await this.errors.branchesMatching(this.cfg.tag ?? "");
    if (branches.length === 0) return "";
    const [first] = branches;
    return branches.length === 1 && first === this.cfg.tag
      ? `, but a branch of that name does: set branch = "${first}" (and no tag) to follow that branch`
      : `, but branches do (${skippedText(branches)}): tag names tags; set branch = "NAME" (and no tag) to follow a branch`;
  }

  private async target(): Promise<Target | undefined> {
    if (this.pin !== undefined) return this.pinnedTarget(this.pin);
    if (this.cfg.tag === undefined) {
      const label = `${this.remoteName}/${this.cfg.branch}`;
      const commit = await this.branchTip(`refs/remotes/${label}^{commit}`);
      if (commit === undefined) throw await this.errors.noBranchError();
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
    if (commit === undefined) throw await this.notCommitTagError(`${namespace}/${newest}`, newest);
    return { commit, label: newest, skipped, ignored };
  }

  /**
   * The newest tag names no commit (`git tag v2.0.0 HEAD:app.py` tags a file, `HEAD^{tree}` a
   * tree): ship installs commits only. It was taken for "no tag matches", naming the pattern,
   * while older release tags stood beside it. Refused naming the tag, as a moved one is: which
   * release it was meant to be is the tagger's to say.
   */
  private async notCommitTagError(ref: string, tag: string): Promise<Error> {
    const peeled = await this.git.raw(["cat-file", "-t", `${ref}^{}`]).catch(() => "");
    const id = await this.revParse(`${ref}^{}`);
    const what = peeled.trim() === "" ? "no object this clone has" : `a ${peeled.trim()}`;
    return new VerificationError(
      `git tag ${tag}`,
      `the newest tag matching "${this.cfg.tag}" points to ${what}${id === undefined ? "" : ` (${id.slice(0, 12)})`}, not a commit: ship installs a commit's tree; delete that tag on the remote and tag the release's commit`,
    );
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
        await this.errors.shownRemote(),
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
      // A partial clone's promised objects count as there: fillPartialClone() fetches them, under
      // the limits, where a plain walk fetched each one unbounded.
      await this.git.raw([
        "rev-list",
        "--quiet",
        "--objects",
        "--missing=allow-promisor",
        commit,
        "--not",
        "--all",
      ]);
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
}
