import type { IndexFiles } from "../apply/index-files.js";
import type { ReleaseEntry } from "../apply/types.js";
import type { IndexComparison } from "./app-holds.js";

/**
 * The one interface every update source (git, http(s), sftp, local) implements, so the pipeline
 * never knows where a release came from.
 */

/** What a source says about the newest release without downloading it. */
export interface UpdateCheck {
  /** True when the newest release differs from what this host last installed from the source. */
  available: boolean;
  /** Identity of what is installed now (version, commit, etag...), if known. */
  current?: string;
  /** Identity of the newest release the source offers. */
  candidate?: string;
  /** One line for `--check-only` output. */
  detail: string;
  /**
   * The candidate is known only once the fetch has read the release (a local archive not hashed
   * yet): `available` is then a guess the fetch settles (`installedAlready`), and a check made after
   * the fetch names the candidate without reading the release again.
   */
  namedByFetch?: boolean;
}

/** A release fetched, verified and unpacked into a staging directory. */
export interface FetchedRelease {
  /** Directory holding the release tree; update-manifest.yaml (if any) is at its root. */
  dir: string;
  /**
   * Where the operator finds the release's own files, when that is a directory on this host (the
   * local directory source): errors in its manifest name that file, not the staging copy that is
   * gone by the time the operator reads the message.
   */
  originDir?: string;
  /**
   * How errors name the release's manifest when the release has no directory on this host: inside
   * the archive it came in (`ARCHIVE!update-manifest.yaml`, manifestInside), or the hub release it
   * is. Absent (and no originDir): the staged copy.
   */
  manifestName?: string;
  /** Source-specific identity: commit sha, sha256 of the artifact, ETag... */
  id: string;
  /** sha256 of the downloaded artifact when there was one (signatures sign it). */
  artifactSha256?: string;
  /** Path of the downloaded artifact, kept until the update ends. */
  artifactPath?: string;
  /**
   * Where the operator finds the artifact's `.sig` (its URL, the SFTP server's file), named when
   * it is not a signature; absent: `<artifactPath>.sig` on this host.
   */
  signatureOrigin?: string;
  /**
   * The `.sig` on this host when it is not `<artifactPath>.sig`: a local `path` that is a `latest`
   * link is signed by the .sig beside the file it leads to (companionAlong).
   */
  signaturePath?: string;
  /**
   * Relative path → sha256 of the release's regular files, recorded while the source wrote them,
   * so the pipeline need not read the release again. Absent (or silent about a file) means the
   * pipeline must hash it itself.
   */
  fileHashes?: ReadonlyMap<string, string>;
  /**
   * The whole release when the source staged only part of it: files the app already holds byte for
   * byte (install index + an unchanged stat) are left out of `dir`, so an update costs what changed.
   * Absent: `dir` holds the whole release.
   */
  listing?: ReleaseListing;
  /**
   * `listing` compared with the install index by the source, when it did so to stage: the checks
   * before the hooks use it while the index they read is that very object.
   */
  comparedWithIndex?: IndexComparison;
  /**
   * Writes release files the source left out into `dir`, checked against their sha256: the planner
   * calls it when the app changed after staging. Without it such a change stops the update first.
   */
  materialize?: (rels: readonly string[]) => Promise<void>;
  /**
   * The source could only tell by reading the release that it is the one installed (a local archive
   * rewritten with the same bytes): the run ends up to date and nothing is applied.
   */
  installedAlready?: boolean;
}

/** Every file (type, sha256, size, mode) and directory (mode) of a release, by relative path. */
export interface ReleaseListing {
  files: Map<string, ReleaseEntry>;
  dirs: Map<string, number>;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Called with 0..1 as bytes arrive (unknown totals report undefined). */
  onProgress?: (fraction: number | undefined, bytes: number) => void;
}

export interface ReleaseSource {
  readonly name: string;
  check(): Promise<UpdateCheck>;
  /** Fetch into `stagingDir` (created empty by the caller, on the app's filesystem). */
  fetch(stagingDir: string, options?: FetchOptions): Promise<FetchedRelease>;
  /** Persist change-detection metadata (ETag, commit, size+mtime) once the update succeeded. */
  commit(release: FetchedRelease): Promise<void>;
  /**
   * Lets go of what check() keeps open for the fetch that follows (the http source's answer,
   * held-answer.ts): the run calls it when it ends, fetched or not. Absent: nothing is kept.
   */
  close?(): Promise<void>;
}

/** The logging a source needs; shared/log.ts's Logger satisfies it. Never pass secrets in `data`. */
export interface SourceLog {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
  /** Whether lines of this level are written (absent: all are); `--quiet` turns a progress bar off. */
  enabled?(level: "debug" | "info" | "warn" | "error"): boolean;
}

/**
 * What ship's install index says the app holds now. Updates, restores and rollbacks keep it true,
 * so sources decide "is there an update" from it, never from their own caches or a clone's HEAD.
 */
export interface InstalledRelease {
  version: string;
  /** The id the source gave the installed release (FetchedRelease.id); unknown for old installs. */
  releaseId?: string;
  appDir: string;
  /** What ship installed, per relative path, with each file's stat right after the install. */
  files: IndexFiles;
}

/** Which release is installed, without the per-file part (InstalledRelease's first two fields). */
export type InstalledId = Pick<InstalledRelease, "version" | "releaseId">;

/** What every source gets besides its own config. */
export interface SourceContext {
  /** The installed release, read when called; absent (or undefined) means nothing ship installed. */
  installed?: () => Promise<InstalledRelease | undefined>;
  /**
   * installed()'s version and release id alone, from the install index's first bytes: what a check
   * compares, so a run that finds no update never parses the index's 20,000 file entries.
   */
  installedId?: () => Promise<InstalledId | undefined>;
  /**
   * How the check line names what is installed when the install index names nothing: "(nothing
   * installed)" said that of an app the state file still records ship installing (the index was
   * deleted), whose files the update then replaces.
   */
  noneInstalled?: string;
  /** Where change-detection metadata and partial downloads go unless the config names a file. */
  stateDir: string;
  /**
   * `--check-only`: the run changes nothing on disk (README), so caches a check would refresh (the
   * local source's stat index) are read but not written.
   */
  readOnly?: boolean;
  /**
   * The run fetches the release whenever the check says "available", `--check-only` included (it
   * runs fetch and verify: rollout-hold.ts). A check that would read the whole release only to name
   * it (a local archive not hashed yet) leaves that to the fetch's own read, as a real run's does.
   */
  fetchFollows?: boolean;
  /**
   * Takes the writes of the source's caches (the local source's stat index, an archive's hash) to
   * make once the run knows its input was good: a run refused for bad input (a broken manifest, an
   * empty release) changes nothing on disk. Absent: the source writes them when it learns them.
   */
  deferCacheWrite?: (write: () => Promise<void>) => void;
  log: SourceLog;
  /**
   * The agent has [trust] keys: http and sftp sources fetch the release's detached signature
   * (`<artifact>.sig`) beside it. Without keys it is never requested, so a server that answers 403
   * for every missing file does not fail runs that never read a signature.
   */
  signatures?: boolean;
  /** Base of the retry backoff for network sources (default 1000 ms); tests pass 0. */
  retryDelayMs?: number;
}
