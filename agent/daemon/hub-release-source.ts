/**
 * The ReleaseSource the daemon hands the pipeline for a hub instruction: the release the hub names,
 * fetched from the hub's artifact store (agent token) or from the place the release points at,
 * with this host's own settings for that app's source (headers, CA, SSH key). Whatever the route,
 * the bytes must hash to the sha256 the release names, and a signed release is checked against
 * `[trust]` before anything is downloaded (http) or extracted (sftp).
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { BadInputError, issuesMoved, VerificationError } from "../../shared/errors.js";
import { MANIFEST_YAML_OPTIONS, readManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { DeployRelease } from "../../shared/protocol/messages.js";
import { timerMs } from "../../shared/schema/durations.js";
import { verifyReleaseTrust } from "../../shared/signing/trust.js";
import { mbSetting } from "../archive/limits.js";
import { downloadFile } from "../download/download.js";
import { DownloadError } from "../download/errors.js";
import { type OpenResponse, probeUrl } from "../download/probe.js";
import { redactUrl } from "../download/redact.js";
import { untrustedCertificateAt, untrustedReleaseUrl } from "../download/untrusted-certificate.js";
import { artifactPathFor, removeArtifact } from "../sources/artifact.js";
import { extractWhileDownloading } from "../sources/extract-while-downloading.js";
import { GitSource } from "../sources/git.js";
import { HeldAnswer } from "../sources/held-answer.js";
import { extractedRelease, manifestInside, updateExtractOptions } from "../sources/release-info.js";
import { SftpSource } from "../sources/sftp.js";
import type {
  FetchedRelease,
  FetchOptions,
  ReleaseSource,
  SourceContext,
  UpdateCheck,
} from "../sources/types.js";
import { pathExists } from "../tree/fs-ops.js";

export interface HubReleaseSourceOptions {
  app: string;
  release: DeployRelease;
  /** The app's `[sources.APP]`: app_dir, security and credentials apply to hub releases too. */
  source: Source;
  config: AgentConfig;
  hubUrl: string;
  token: string;
  context: SourceContext;
  /** 0..100 as the artifact arrives. */
  onPercent?: (percent: number) => void;
  /**
   * Aborted when the agent is stopped (SIGTERM): a download under way is dropped, since nothing
   * is changed before the release is whole, and the instruction waits on disk for the next start.
   */
  stop?: AbortSignal;
}

/** The total time a hub download may take when the app's source is local (max_download_seconds' default). */
const HUB_DOWNLOAD_SECONDS = 3600;

/** The most a hub download may bring when the app's source has no max_download_mb (git, local): its default. */
const HUB_DOWNLOAD_MB = 2048;

interface HttpLocation {
  url: string;
  /** Never logged. */
  headers: Record<string, string>;
  caFile: string | undefined;
  /** The URL is on the origin the app's own http(s) source names: its ca_file is the key to change. */
  ownOrigin: boolean;
}

export class HubReleaseSource implements ReleaseSource {
  readonly name: string;
  /**
   * Why the last fetch failed, when trying again later may work (hub or server unreachable, 5xx):
   * the daemon then keeps the instruction instead of reporting a failure nobody caused.
   */
  transientFailure: string | undefined;
  private gitSource: GitSource | undefined;
  private readonly held = new HeldAnswer();

  constructor(private readonly options: HubReleaseSourceOptions) {
    this.name = options.app;
  }

  /**
   * The hub decided there is something to do, so this only makes sure the release can be reached:
   * a hub or server that is away fails here, before anything is staged, recorded or notified.
   */
  async check(): Promise<UpdateCheck> {
    const { release } = this.options;
    const where = this.httpLocation();
    if (where !== undefined) {
      try {
        // Its answer is the download's first response (held until fetch() reads it): one request.
        // A read-only check fetches too (the pipeline reads the release's manifest), so it is kept
        // whatever the context; close() drops what no fetch took.
        const probe = await probeUrl(
          where.url,
          {},
          {
            headers: where.headers,
            caFile: where.caFile,
            retries: 0,
            ...this.downloadLimits(),
            ...(this.options.stop === undefined ? {} : { signal: this.options.stop }),
          },
          true,
        );
        if (probe.status === "changed" && probe.open !== undefined) this.held.hold(probe.open);
      } catch (error) {
        throw this.untrusted(error, where) ?? this.keptForLater(error);
      }
    }
    return {
      available: true,
      candidate: release.version,
      detail: `${this.name}: hub release ${release.version} (${release.id})`,
    };
  }

  /** A check's answer no fetch took is dropped now. */
  async close(): Promise<void> {
    await this.held.take()?.close();
  }

  async fetch(stagingDir: string, fetchOptions?: FetchOptions): Promise<FetchedRelease> {
    try {
      const signal = fetchOptions?.signal ?? this.options.stop;
      return await this.fetchOnce(stagingDir, {
        ...fetchOptions,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw this.keptForLater(error);
    }
  }

  /**
   * Notes a failure that trying again later may mend, so the daemon keeps the instruction: a server
   * away or failing (5xx), or the hub's own artifact store refusing this agent's token (401: revoked
   * and replaced, expired while the agent was away). That one is no fault of the release: it was
   * reported failed ("HTTP 401"), which the hub counted against the wave once the operator's new
   * token let the report through. And a stop of the agent (`stop` aborted), whatever it cut short
   * of the fetch. Returns the error to throw, the refusal or the stop said as such.
   */
  private keptForLater(error: unknown): unknown {
    if (this.options.stop?.aborted === true) {
      // Whatever the abort surfaced as (the download's own error, the extraction's), it is a stop.
      const where = this.httpLocation();
      const stopped = new DownloadError(
        where === undefined ? this.shownAs() : redactUrl(where.url),
        "stopped: the agent is stopping; the next start downloads the release again",
        false,
      );
      this.transientFailure = stopped.message;
      return stopped;
    }
    if (!(error instanceof DownloadError)) return error;
    const tokenRefused =
      error.status === 401 && !error.retryable && this.options.release.source.type === "hub";
    if (!error.retryable && !tokenRefused) return error;
    const kept = tokenRefused
      ? new DownloadError(
          error.url,
          `${error.reason} (the hub refused this agent's token; the instruction waits until the hub takes the agent's token again, as its connection does)`,
          false,
          401,
        )
      : error;
    this.transientFailure = kept.message;
    return kept;
  }

  private async fetchOnce(stagingDir: string, fetchOptions?: FetchOptions): Promise<FetchedRelease> {
    const ref = this.options.release.source;
    const where = this.httpLocation();
    let fetched: FetchedRelease;
    // The check's answer, if it kept one: read by the download, closed here whatever happens.
    const opened = this.held.take();
    if (where !== undefined && "sha256" in ref) {
      fetched = await this.download(where, ref.sha256, stagingDir, opened, fetchOptions)
        .catch((err: unknown) => {
          throw this.untrusted(err, where) ?? err;
        })
        .finally(() => opened?.close());
    } else if (ref.type === "sftp") {
      fetched = await this.fetchSftp(ref.remote_path, ref.sha256, stagingDir, fetchOptions);
    } else if (ref.type === "git") {
      fetched = await this.fetchGit(ref.commit, ref.tag, stagingDir);
    } else {
      throw new Error(`unhandled release source ${ref.type}`);
    }
    await this.checkStagedVersion(stagingDir);
    return { ...fetched, manifestName: manifestInside(this.shownAs()) };
  }

  /**
   * The release as the operator knows it (the hub's id, app and version): errors about its manifest
   * named the staging copy, which is gone before anyone reads the message and tells nothing of which
   * release it was.
   */
  private shownAs(): string {
    const { id, app, version } = this.options.release;
    return `hub release ${id} (${app} ${version})`;
  }

  /**
   * A git release moves the app's clone to the commit (as the timer mode does); other releases
   * leave nothing behind: the daemon's desired state records which hub release is installed.
   */
  async commit(release: FetchedRelease): Promise<void> {
    if (this.gitSource !== undefined) await this.gitSource.commit(release);
    await removeArtifact(release.artifactPath);
  }

  /** The configured clone, remote and key; the commit (and tag) the hub names. */
  private async fetchGit(
    commit: string,
    tag: string | undefined,
    stagingDir: string,
  ): Promise<FetchedRelease> {
    const { source, context } = this.options;
    if (source.type !== "git") {
      throw BadInputError.single(
        "ship.toml",
        `sources.${this.name}.type`,
        `the hub's release is a git commit but [sources.${this.name}] is ${source.type}; this host has no clone for it`,
      );
    }
    this.gitSource = new GitSource(this.name, source, context, {
      commit,
      ...(tag === undefined ? {} : { tag }),
    });
    const fetched = await this.gitSource.fetch(stagingDir);
    await this.checkTrust(`git:${fetched.id}`);
    return fetched;
  }

  /**
   * The app's own source's timeouts (every type but local has both), else the defaults: a hub
   * download had only an idle timeout, so an artifact URL that trickled held the app's update (and
   * its lock) for ever. A git or sftp app's own limits were ignored here for the fixed 60 s / hour.
   */
  private downloadLimits(): {
    timeoutMs: number;
    timeoutSetting: string;
    deadlineMs: number;
    deadlineSetting: string;
  } {
    const { source } = this.options;
    if (source.type !== "local")
      return {
        timeoutMs: timerMs(source.timeout_seconds),
        timeoutSetting: `[sources.${this.name}] timeout_seconds`,
        deadlineMs: timerMs(source.max_download_seconds),
        deadlineSetting: `[sources.${this.name}] max_download_seconds`,
      };
    return {
      timeoutMs: 60_000,
      timeoutSetting:
        "a hub download's silence limit; a source of any type but local sets it with timeout_seconds",
      deadlineMs: HUB_DOWNLOAD_SECONDS * 1000,
      deadlineSetting: `a hub download's limit (${HUB_DOWNLOAD_SECONDS} s; a source of any type but local sets it with max_download_seconds)`,
    };
  }

  /**
   * The app's own max_download_mb (every source type but local has it), else its default. Without
   * one a hub download had no size limit at all: a release URL, or a hub, that kept sending filled
   * the disk for max_download_seconds before the sha256 was ever compared.
   */
  private sizeLimit(): { maxBytes: number; maxBytesSetting: string } {
    const { source } = this.options;
    if ("max_download_mb" in source)
      return {
        maxBytes: Math.floor(source.max_download_mb * 1024 * 1024),
        maxBytesSetting: mbSetting(`[sources.${this.name}] max_download_mb`, source.max_download_mb),
      };
    return {
      maxBytes: HUB_DOWNLOAD_MB * 1024 * 1024,
      maxBytesSetting: `a hub download's limit (${HUB_DOWNLOAD_MB} MB; a source of any type but local sets it with max_download_mb)`,
    };
  }

  /**
   * A certificate this host cannot verify, on the origin of the app's own https source, named by
   * the key to change as that source names it in a timer run: it read "download … failed: unable
   * to verify the first certificate", with nothing to set.
   */
  private untrusted(err: unknown, where: HttpLocation): Error | undefined {
    if (where.ownOrigin) return untrustedCertificateAt(err, this.name, where.caFile);
    // The hub's own artifact store: the agent's channel to the same hub tells of its certificate.
    if (this.options.release.source.type === "hub") return undefined;
    return untrustedReleaseUrl(err, this.name, this.options.source.type, where.caFile);
  }

  /** Where an HTTP-reachable release is, and what this host sends there; undefined for sftp/git. */
  private httpLocation(): HttpLocation | undefined {
    const { release, source, config, hubUrl, token } = this.options;
    const ref = release.source;
    if (ref.type === "hub") {
      return {
        url: `${hubUrl.replace(/\/+$/, "")}/api/v1/artifacts/${ref.sha256}`,
        headers: { authorization: `Bearer ${token}` },
        caFile: config.hub?.ca_file,
        ownOrigin: false,
      };
    }
    if (ref.type !== "http" && ref.type !== "https") return undefined;
    if (ref.type === "https" && !ref.url.startsWith("https://"))
      throw BadInputError.single("hub release", "source.url", 'type "https" needs an https:// URL');
    // The app's own headers and CA only go to the origin its source names: a release must not be
    // able to send this host's credentials somewhere else.
    const local = source.type === "http" || source.type === "https" ? source : undefined;
    const sameOrigin = local !== undefined && new URL(local.url).origin === new URL(ref.url).origin;
    return {
      url: ref.url,
      headers: sameOrigin ? local.headers : {},
      caFile: local?.ca_file,
      ownOrigin: sameOrigin,
    };
  }

  private async download(
    where: HttpLocation,
    sha256: string,
    stagingDir: string,
    opened: OpenResponse | undefined,
    fetchOptions: FetchOptions | undefined,
  ): Promise<FetchedRelease> {
    const { context, source, release } = this.options;
    // The hub named the sha256, so a signed release is checked before a byte is fetched.
    await this.checkTrust(sha256);
    const artifact = await artifactPathFor(context, `${this.name}.hub`);
    let lastPercent = -1;
    const { extracted } = await extractWhileDownloading({
      artifact,
      where: redactUrl(where.url),
      stagingDir,
      extract: await updateExtractOptions(this.name, source, context),
      expectedSha256: sha256,
      signal: fetchOptions?.signal,
      download: async (onChunk, signal) => {
        const result = await downloadFile({
          url: where.url,
          dest: artifact,
          ...(opened === undefined ? {} : { opened }),
          headers: where.headers,
          ...(where.caFile === undefined ? {} : { caFile: where.caFile }),
          ...this.downloadLimits(),
          ...this.sizeLimit(),
          retries: 3,
          ...(context.retryDelayMs === undefined ? {} : { retryDelayMs: context.retryDelayMs }),
          signal,
          onChunk,
          onProgress: (bytes, total) => {
            if (total === undefined || total === 0) return;
            const percent = Math.floor((bytes / total) * 100);
            // Whole steps of 10 %: progress goes over the WebSocket, not every chunk.
            if (percent >= lastPercent + 10 || (percent === 100 && lastPercent !== 100)) {
              lastPercent = percent;
              this.options.onPercent?.(percent);
            }
          },
          log: context.log,
        });
        if (result.status !== "downloaded") throw new Error("unconditional download answered 304");
        return result;
      },
    });
    context.log.info("downloaded and extracted hub release", {
      release: release.id,
      sha256,
      files: extracted.files,
      bytes: extracted.bytes,
      unchanged: extracted.leftOut,
    });
    return {
      dir: stagingDir,
      id: `sha256:${sha256}`,
      artifactSha256: sha256,
      artifactPath: artifact,
      ...extractedRelease(extracted),
    };
  }

  private async fetchSftp(
    remotePath: string,
    sha256: string,
    stagingDir: string,
    fetchOptions: FetchOptions | undefined,
  ): Promise<FetchedRelease> {
    const { source, context } = this.options;
    if (source.type !== "sftp") {
      throw BadInputError.single(
        "ship.toml",
        `sources.${this.name}.type`,
        `the hub's release is on SFTP but [sources.${this.name}] is ${source.type}; this host has no SFTP credentials for it`,
      );
    }
    // The configured host, user and key; the release's path and checksum.
    const sftp = new SftpSource(
      this.name,
      { ...source, remote_path: remotePath, checksum: `sha256:${sha256}` },
      context,
      { file: "hub release", key: "source.remote_path" },
    );
    const fetched = await sftp.fetch(stagingDir, fetchOptions);
    if (fetched.artifactSha256 !== sha256)
      throw new VerificationError(remotePath, `hashes to ${fetched.artifactSha256}, not ${sha256}`);
    await this.checkTrust(sha256);
    return fetched;
  }

  /** With `[trust]` keys a release must be signed by one of them; a hub cannot forge that. */
  private async checkTrust(artifactSha256: string): Promise<void> {
    const { release, config } = this.options;
    const result = await verifyReleaseTrust({
      trust: config.trust,
      // The app this host installs it as, not the app the hub says the release is of: checked
      // against the hub's word, another app's signed release passed for this one.
      app: this.name,
      version: release.version,
      artifactSha256,
      manifestSha256: createHash("sha256").update(release.manifest).digest("hex"),
      ...(release.signature === undefined ? {} : { signature: release.signature }),
    });
    if (result.verified) this.options.context.log.info("release signature verified", { key: result.keyId });
  }

  /**
   * The archive's manifest must announce the version the hub says it is installing. An archive
   * published with its manifest beside it (`publish --artifact A --manifest M`) holds none: the
   * release's manifest is the hub's (the one a signature covers), written into staging for the
   * pipeline to read. Without it the release was installed as having no manifest, named by its id:
   * no downgrade check (an older signed release went in as an update), no hooks, no tests.
   */
  private async checkStagedVersion(stagingDir: string): Promise<void> {
    const file = join(stagingDir, MANIFEST_FILENAME);
    if (!(await pathExists(file))) {
      await writeFile(file, this.options.release.manifest, { flag: "wx" });
      return;
    }
    // Read as the pipeline's loader reads it: read as UTF-8 unchecked, a directory of that name
    // fell through to the write above ("EEXIST"), and a Latin-1 or UTF-16 manifest was compared
    // as U+FFFD text before the loader could name the byte.
    const shown = manifestInside(this.shownAs());
    const text = await readManifestText(file).catch((error: unknown) => {
      throw issuesMoved(error, file, shown);
    });
    let version: unknown;
    try {
      version = (parse(text, MANIFEST_YAML_OPTIONS) as { version?: unknown } | null)?.version;
    } catch {
      return; // the pipeline's manifest loader reports the error with its position
    }
    if (version !== undefined && String(version) !== this.options.release.version) {
      throw new VerificationError(
        shown,
        `says version ${String(version)}, the hub's release says ${this.options.release.version}: publish the archive under its own version, or fix the manifest packed in it`,
      );
    }
  }
}
