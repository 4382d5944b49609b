/**
 * `type = "sftp"`: a release archive on an SSH server. Change detection by size + mtime (kept in
 * metadata_file, with the moment they were read: an mtime that had not settled by then is racy and
 * vouches for nothing, racy-rule.ts); the archive is streamed to disk with its sha256 computed on the way and extracted
 * into staging as it arrives; the staged release is only handed on once the artifact matches the
 * configured checksum (or `<remote_path>.sha256` when the server has one). A check that finds a
 * release keeps its session and stat for the fetch: an update logs in once and stats the release
 * once (held-answer.ts).
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type SftpClient from "ssh2-sftp-client";
import * as z from "zod";
import { companionText } from "../../shared/companion-text.js";
import type { SftpSource as SftpSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, errorMessage, ReleaseChangedError, VerificationError } from "../../shared/errors.js";
import { LocalWriteError } from "../../shared/fs-errors.js";
import { timerMs } from "../../shared/schema/durations.js";
import { mbSetting, overLimit } from "../archive/limits.js";
import { startDeadline } from "../download/deadline.js";
import { DownloadError } from "../download/errors.js";
import type { ProgressCallback } from "../download/progress.js";
import { RACY_MS, stillVouches } from "../tree/racy-rule.js";
import {
  artifactPathFor,
  checksumToVerify,
  installedAlready,
  progressFor,
  removeArtifact,
  signaturePathOf,
} from "./artifact.js";
import { brokenLink, brokenLinkText, linkTargets, namesAlongLinks } from "./broken-link.js";
import {
  companionTooLarge,
  findSha256,
  MAX_COMPANION_BYTES,
  pinnedSha256,
  type Sha256Sum,
  sha256SumFor,
  withChecksumOrigin,
} from "./checksum.js";
import { companionAlong } from "./companion-along.js";
import { type ChunkSink, extractWhileDownloading } from "./extract-while-downloading.js";
import { HeldAnswer } from "./held-answer.js";
import { metadataPath, SourceMetadataStore } from "./metadata.js";
import {
  extractedRelease,
  manifestInside,
  readReleaseVersion,
  shortId,
  updateExtractOptions,
} from "./release-info.js";
import { connectSftp } from "./ssh/sftp-connect.js";
import { sftpLinkReader } from "./ssh/sftp-link.js";
import { lstatRemote, type RemoteStat } from "./ssh/sftp-lstat.js";
import { remoteReadStream } from "./ssh/sftp-read.js";
import { onServer, type RemotePathOrigin, remoteFileError } from "./ssh/sftp-status.js";
import type { FetchedRelease, FetchOptions, ReleaseSource, SourceContext, UpdateCheck } from "./types.js";

const Installed = z.object({
  remotePath: z.string(),
  size: z.number(),
  mtime: z.number(),
  /**
   * Our clock just before the stat that read size and mtime was asked for. Missing (a file from
   * before it was kept): the stat is not trusted, and the next check reads the archive once.
   */
  statAtMs: z.number().optional(),
  sha256: z.string(),
  version: z.string().optional(),
  installedAt: z.string(),
});
type Installed = z.infer<typeof Installed>;

export type { RemotePathOrigin };

export class SftpSource implements ReleaseSource {
  readonly type = "sftp";
  private readonly store: SourceMetadataStore<Installed>;
  private readonly pending = new Map<string, Omit<Installed, "installedAt">>();
  private readonly where: string;
  private readonly held = new HeldAnswer<CheckedSession>();

  private readonly cfg: SftpSourceConfig;

  constructor(
    readonly name: string,
    cfg: SftpSourceConfig,
    private readonly ctx: SourceContext,
    private readonly pathOrigin: RemotePathOrigin = { file: "ship.toml", key: `sources.${name}.remote_path` },
  ) {
    // `~/releases/app.tar.gz`, as scp and sftp users write it, is the login's home: the SFTP
    // protocol has no `~` (the server looked for a directory named `~`), and a relative path already
    // is the home's.
    this.cfg = { ...cfg, remote_path: fromHome(cfg.remote_path) };
    this.store = new SourceMetadataStore(
      metadataPath(ctx.stateDir, name, cfg.metadata_file),
      name,
      Installed,
    );
    this.where = this.whereOf(this.cfg.remote_path);
  }

  async check(): Promise<UpdateCheck> {
    const stored = await this.store.read();
    const pinned = pinnedSha256(this.cfg.checksum);
    const known =
      stored?.remotePath === this.cfg.remote_path && (pinned === undefined || pinned === stored.sha256)
        ? stored
        : undefined;
    const client = await connectSftp(this.name, this.cfg);
    const remote = await this.statRelease(client).catch(async (err: unknown) => {
      await endSession(client);
      throw err;
    });
    const current = known === undefined ? undefined : (known.version ?? shortId(`sha256:${known.sha256}`));
    const candidate = `${remote.size} bytes, modified ${new Date(remote.modifyTime).toISOString()}`;
    const sameStat = known !== undefined && known.size === remote.size && known.mtime === remote.modifyTime;
    if (sameStat && stillVouches(known.mtime, known.statAtMs, Date.now())) {
      await endSession(client);
      return {
        available: false,
        current,
        candidate: current,
        detail: `${this.name}: up to date (${current})`,
      };
    }
    // Same size and mtime, but the installed release's mtime was no older than the stat that read
    // it (or a clock ahead of ours judged it): a same-size rebuild in that second keeps both. Read once more (the fetch ends up to date
    // when it is the installed archive, and records a stat that has settled by now).
    if (sameStat)
      this.ctx.log.info(
        `size and mtime unchanged, but read within ${RACY_MS / 1000} s of the file's last change (or by a clock ahead of this run's): reading it again`,
        {
          source: this.name,
          from: this.where,
        },
      );
    // The run (and a check-only, which reads the release's manifest) fetches next: it goes on in
    // this session with this stat, where it logged in again and stat'ed the release again.
    this.held.hold(checkedSession(client, remote));
    return {
      available: true,
      current,
      candidate,
      detail: `${this.name}: update available at ${this.where} (${candidate})`,
    };
  }

  /** A check's session no fetch took (the run stopped before its fetch) is ended now. */
  async close(): Promise<void> {
    await this.held.take()?.close();
  }

  async fetch(stagingDir: string, options?: FetchOptions): Promise<FetchedRelease> {
    const artifact = await artifactPathFor(this.ctx, this.name);
    const progress = progressFor(options, basename(this.cfg.remote_path), this.ctx);
    const extract = await updateExtractOptions(this.name, this.cfg, this.ctx);
    const checked = await this.liveCheckedSession();
    let signatureFrom = `${this.cfg.remote_path}.sig`;
    const { remote, sha256, extracted } = await this.withClient(checked?.client, async (client) => {
      const remote = checked?.remote ?? (await this.statRelease(client));
      const max = Math.floor(this.cfg.max_download_mb * 1024 * 1024);
      if (remote.size > max) {
        const setting = mbSetting(`[sources.${this.name}] max_download_mb`, this.cfg.max_download_mb);
        throw new VerificationError(this.where, `size ${overLimit(remote.size, max, setting)}`);
      }
      const expected = await this.expectedSha256(client);
      signatureFrom = await this.fetchSignature(client, artifact);
      const { downloaded, extracted } = await extractWhileDownloading({
        artifact,
        where: this.where,
        stagingDir,
        extract,
        expectedSha256: expected?.sha256,
        signal: options?.signal,
        download: async (onChunk, signal) => ({
          sha256: await this.download(client, artifact, remote.size, { progress, onChunk, signal }),
        }),
      }).catch((err: unknown) => {
        throw withChecksumOrigin(err, expected, basename(this.cfg.remote_path), expected?.from ?? "");
      });
      return { remote, sha256: downloaded.sha256, extracted };
    });
    const staged = extractedRelease(extracted);
    this.ctx.log.info("downloaded and extracted release", {
      source: this.name,
      from: this.where,
      sha256,
      files: extracted.files,
      bytes: extracted.bytes,
      unchanged: extracted.leftOut,
    });
    const id = `sha256:${sha256}`;
    const facts = {
      remotePath: this.cfg.remote_path,
      size: remote.size,
      mtime: remote.modifyTime,
      statAtMs: remote.statAtMs,
      sha256,
      version: await readReleaseVersion(stagingDir),
    };
    if (await installedAlready(this.ctx, id)) {
      // A new remote_path (or a re-upload) holding the installed archive: nothing to install, and
      // the next check compares size + mtime with it instead of downloading it again.
      if (this.ctx.readOnly !== true)
        await this.store.write({ ...facts, installedAt: new Date().toISOString() });
      await removeArtifact(artifact);
      return { dir: stagingDir, id, artifactSha256: sha256, ...staged, installedAlready: true };
    }
    this.pending.set(id, facts);
    return {
      dir: stagingDir,
      id,
      artifactSha256: sha256,
      artifactPath: artifact,
      manifestName: manifestInside(this.where),
      signatureOrigin: this.whereOf(signatureFrom),
      ...staged,
    };
  }

  async commit(release: FetchedRelease): Promise<void> {
    const facts = this.pending.get(release.id);
    if (facts === undefined) throw new Error(`${this.name}: commit of a release this source did not fetch`);
    await this.store.write({ ...facts, installedAt: new Date().toISOString() });
    await removeArtifact(release.artifactPath);
  }

  /**
   * The release file's stat. A server with nothing at `remote_path`, or one that will not let the
   * user see it, answered: the key (or the file's mode) is wrong, which no retry fixes, so it is bad
   * input naming the key.
   */
  private async statRelease(client: SftpClient): Promise<TimedStat> {
    const statAtMs = Date.now();
    const info = await this.onServer(() => this.statFollowing(client), this.where, this.pathOrigin);
    // A directory (`/releases/`, as if ship picked the newest file in it) was "update available
    // (4096 bytes, …)" and then the server's bare "Failure" on reading it, exit 1 on every run.
    if (!info.isFile) {
      const what = info.isDirectory
        ? "is a directory: name the release archive in it (e.g. myapp-latest.tar.gz)"
        : "is not a regular file";
      throw BadInputError.single(this.pathOrigin.file, this.pathOrigin.key, `${this.where} ${what}`);
    }
    return Object.assign(info, { statAtMs });
  }

  /**
   * stat follows links: a link that is there (latest.tar.gz pointing at a release since deleted)
   * read "not on the server", which sent the operator to a file `ls` shows.
   */
  private async statFollowing(client: SftpClient): Promise<RemoteStat> {
    try {
      return await client.stat(this.cfg.remote_path);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ENOENT") throw error;
      if ((await client.exists(this.cfg.remote_path).catch(() => false)) !== "l") throw error;
      const broken = await brokenLink(sftpLinkReader(client), this.cfg.remote_path);
      const what = brokenLinkText(broken, "not on the server");
      throw BadInputError.single(this.pathOrigin.file, this.pathOrigin.key, `${this.where} ${what}`);
    }
  }

  private onServer<T>(work: () => Promise<T>, where: string, origin: RemotePathOrigin): Promise<T> {
    return onServer(work, where, this.cfg.username, origin);
  }

  /** A relative path is the login's home directory's (`~/`, as curl writes it): not glued to the port. */
  private whereOf(remote: string): string {
    const path = remote.startsWith("/") ? remote : `/~/${remote}`;
    return `sftp://${this.cfg.username}@${this.cfg.hostname}:${this.cfg.port}${path}`;
  }

  /**
   * Whether a `.sig` or `.sha256` beside the release is there. Only "no such file" means absent: a
   * link to the file counts as the file, and anything that keeps ship from reading it (permission
   * denied, a directory, a link to nothing) is an error naming it, never "unsigned" or "no
   * checksum". lstat first: a file, or none (every update without a configured checksum looks for
   * `.sha256`), is one request; only a link costs a stat more (it was stat, then lstat for none).
   */
  private async companionSize(
    client: SftpClient,
    remote: string,
    origin: RemotePathOrigin,
  ): Promise<number | undefined> {
    const where = this.whereOf(remote);
    const unreadable = (err: unknown) =>
      remoteFileError(err, where, this.cfg.username, origin) ??
      new VerificationError(where, `cannot be read: ${sftpErrorText(err, remote)}`);
    let info: RemoteStat;
    try {
      info = await lstatRemote(client, remote);
    } catch (err) {
      if ((err as { code?: unknown }).code === "ENOENT") return undefined;
      throw unreadable(err);
    }
    if (info.isSymbolicLink) {
      try {
        info = await client.stat(remote);
      } catch (err) {
        if ((err as { code?: unknown }).code === "ENOENT")
          throw new VerificationError(where, "cannot be read: it is a symlink to a missing file");
        throw unreadable(err);
      }
    }
    if (!info.isFile) throw new VerificationError(where, "is not a regular file");
    return info.size;
  }

  /**
   * A `.sig` or `.sha256` beside the release: read only up to MAX_COMPANION_BYTES, as over HTTP
   * or from a local path, so a huge (or endless) file cannot fill memory. `size` is its stat.
   */
  private async readCompanion(
    client: SftpClient,
    remote: string,
    origin: RemotePathOrigin,
    size: number,
  ): Promise<Buffer> {
    const where = this.whereOf(remote);
    return this.onServer(() => this.readSmall(client, remote, where, size), where, origin);
  }

  private async readSmall(client: SftpClient, remote: string, where: string, size: number): Promise<Buffer> {
    const tooLarge = () => companionTooLarge(where, "", ": not a checksum or signature");
    if (size > MAX_COMPANION_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let read = 0;
    // The stat can be stale (a file still growing): the read stops at the cap too.
    const stream = remoteReadStream(client, remote, { end: MAX_COMPANION_BYTES });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        read += chunk.length;
        if (read > MAX_COMPANION_BYTES) throw tooLarge();
        chunks.push(chunk);
      }
    } finally {
      // A refused read (permission denied) is named by readCompanion's onServer.
      stream.destroy();
    }
    return Buffer.concat(chunks);
  }

  /** Stream the remote file to `dest`, hashing on the way; the size must match what stat said. */
  private async download(
    client: SftpClient,
    dest: string,
    size: number,
    on: { progress: ProgressCallback; onChunk: ChunkSink; signal: AbortSignal },
  ): Promise<string> {
    const hash = createHash("sha256");
    const where = this.where;
    let bytes = 0;
    // Keepalives catch a silent server, not one that sends a little every few seconds.
    const deadline = startDeadline(
      {
        deadlineMs: timerMs(this.cfg.max_download_seconds),
        deadlineSetting: `[sources.${this.name}] max_download_seconds`,
      },
      on.signal,
    );
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const offset = bytes;
        bytes += chunk.length;
        if (bytes > size)
          return callback(changedDuringDownload(where, `it grew past the ${size} bytes it had`));
        hash.update(chunk);
        on.progress(bytes, size);
        // The extractor's pace is the download's: its backpressure holds the next chunk back.
        on.onChunk(chunk, offset).then(() => callback(null, chunk), callback);
      },
    });
    // This machine's file, told apart from the server's: a full disk was a bare "no space left on
    // device (ENOSPC)" naming nothing, and a local ENOENT (the work directory removed meanwhile)
    // read as the remote file "is not on the server".
    const file = createWriteStream(dest, { mode: 0o600 });
    let localFailure: unknown;
    file.once("error", (error) => {
      localFailure = error;
    });
    try {
      await pipeline(remoteReadStream(client, this.cfg.remote_path), meter, file, {
        signal: deadline.signal,
      });
    } catch (err) {
      // The deadline first: its abort destroys the file's stream too, with an AbortError that is
      // no fault of this machine's disk.
      const late = deadline.failure(where, `${bytes} of ${size} bytes arrived`);
      if (late !== undefined) throw late;
      if (localFailure !== undefined)
        throw new LocalWriteError(`${dest} (the download of ${where})`, localFailure);
      // A stat the user may make of a file it may not read (mode 000): "Permission denied" alone.
      throw remoteFileError(err, this.where, this.cfg.username, this.pathOrigin) ?? this.connectionLost(err);
    } finally {
      deadline.clear();
    }
    if (bytes !== size) throw changedDuringDownload(where, `got ${bytes} of its ${size} bytes`);
    return hash.digest("hex");
  }

  /**
   * ssh2's "No response from server": the connection ended with the read unanswered, because the
   * keepalives went unanswered for timeout_seconds or the server closed it. Said with the file and
   * the setting; exit 1, as the next run may find the server back.
   */
  private connectionLost(err: unknown): unknown {
    if (!(err instanceof Error) || err.message !== "No response from server") return err;
    return new DownloadError(
      this.where,
      `the connection ended before the file was read (no answer from the server for [sources.${this.name}] timeout_seconds = ${this.cfg.timeout_seconds} s, or it closed the connection); the next run tries again`,
      true,
    );
  }

  /**
   * `<remote_path>.sig`, read only for an agent with [trust] keys (ctx.signatures); when the server
   * has no such file the trust check refuses the release as unsigned.
   */
  private async fetchSignature(client: SftpClient, artifact: string): Promise<string> {
    const target = signaturePathOf(artifact);
    await rm(target, { force: true });
    const beside = `${this.cfg.remote_path}.sig`;
    if (this.ctx.signatures !== true) return beside;
    const found = await this.companionAlongLinks(client, ".sig");
    if (found === undefined) return beside;
    const { remote, size } = found;
    if (size === 0)
      throw new VerificationError(
        this.whereOf(remote),
        "is empty: the server has a signature file there but nothing in it",
      );
    await writeFile(target, await this.readCompanion(client, remote, this.pathOrigin, size), { mode: 0o600 });
    return remote;
  }

  /** `<remote_path><suffix>` (.sha256, .sig), or one beside a file its links lead through (companionAlong). */
  private async companionAlongLinks(
    client: SftpClient,
    suffix: string,
  ): Promise<{ remote: string; size: number } | undefined> {
    const found = await companionAlong(
      `${this.cfg.remote_path}${suffix}`,
      async () =>
        (await linkTargets(sftpLinkReader(client), this.cfg.remote_path)).targets.map((t) => `${t}${suffix}`),
      (remote) => this.companionSize(client, remote, this.pathOrigin),
    );
    return found === undefined ? undefined : { remote: found.place, size: found.found };
  }

  /**
   * Configured checksum, else `<remote_path>.sha256` (or one beside a file its links lead through)
   * when the server has one, else none.
   */
  private async expectedSha256(client: SftpClient): Promise<(Sha256Sum & { from: string }) | undefined> {
    const where = `sources.${this.name}.checksum`;
    const spec = checksumToVerify(this.cfg.checksum, this.cfg.security, where, this.ctx, "server");
    if (spec?.kind === "inline") return { sha256: spec.sha256, from: where };
    if (spec === undefined && !this.cfg.security.verify_checksums) return undefined;
    // A configured file is named by its key, checksum; one looked for beside the release by remote_path.
    const origin: RemotePathOrigin =
      spec === undefined ? this.pathOrigin : { file: this.pathOrigin.file, key: where };
    // From the login's home as remote_path is: the protocol has no `~`.
    const configured = spec === undefined ? undefined : fromHome(spec.location);
    const found =
      configured === undefined
        ? await this.companionAlongLinks(client, ".sha256")
        : await this.companionSize(client, configured, origin).then((size) =>
            size === undefined ? undefined : { remote: configured, size },
          );
    if (found === undefined) {
      if (configured !== undefined)
        throw BadInputError.single(
          origin.file,
          origin.key,
          `${this.whereOf(configured)} is not on the server (no such file)`,
        );
      this.ctx.log.debug("no checksum configured and none beside the file", {
        source: this.name,
        tried: `${this.cfg.remote_path}.sha256`,
      });
      return undefined;
    }
    const { remote: checksumFile, size } = found;
    const text = companionText(await this.readCompanion(client, checksumFile, origin, size));
    const from = this.whereOf(checksumFile);
    const name = basename(this.cfg.remote_path);
    const sum = findSha256(text, name, from);
    if (sum !== undefined) return { ...sum, from };
    // A `latest` link: the sums list the release by the name of the file it leads to. Asked only
    // now, so a release that is no link costs no request more.
    // On the way too: `latest` → `myapp-1.2.3.tar.gz` → a store's blob.
    const along = await namesAlongLinks(sftpLinkReader(client), this.cfg.remote_path);
    const target = await client.realPath(this.cfg.remote_path).catch(() => undefined);
    const names = [name, ...along, ...(target === undefined ? [] : [basename(target)])];
    return { ...sha256SumFor(text, names, from), from };
  }

  /** The check's session, unless the server ended it meanwhile (the fetch then logs in again). */
  private async liveCheckedSession(): Promise<CheckedSession | undefined> {
    const checked = this.held.take();
    if (checked === undefined || checked.alive()) return checked;
    await checked.close();
    return undefined;
  }

  /** `work` in `held` (a check's session) or a new one; ended when it is done, either way. */
  private async withClient<T>(
    held: SftpClient | undefined,
    work: (client: SftpClient) => Promise<T>,
  ): Promise<T> {
    const client = held ?? (await connectSftp(this.name, this.cfg));
    try {
      return await work(client);
    } finally {
      await endSession(client);
    }
  }
}

/** The release's stat and our clock just before it was asked for (the racy rule's "seen at"). */
type TimedStat = RemoteStat & { statAtMs: number };

/** A check's logged-in session and the release's stat it read, kept for the fetch that follows. */
interface CheckedSession {
  client: SftpClient;
  remote: TimedStat;
  /** False once the connection closed (the server ended it, keepalives unanswered). */
  alive(): boolean;
  close(): Promise<void>;
}

function checkedSession(client: SftpClient, remote: TimedStat): CheckedSession {
  let open = true;
  client.on("close", () => {
    open = false;
  });
  return { client, remote, alive: () => open, close: () => endSession(client) };
}

/** Ends a session; one the server already closed has nothing left to end. */
async function endSession(client: SftpClient): Promise<void> {
  await client.end().catch(() => undefined);
}

/** What an SFTP server said, without ssh2-sftp-client's "_xstat: " call-site prefix. */
function sftpErrorText(err: unknown, remote: string): string {
  const message = errorMessage(err);
  return (
    message
      .replace(/^\w+: /, "")
      .replace(` ${remote}`, "")
      .trim() || "unknown error"
  );
}

/**
 * The release file changed on the server while it was read: an upload written in place (the seed's
 * `scp myapp.tar.gz host:/releases/myapp-latest.tar.gz`) still in progress. Nothing is wrong with the
 * config or the release, so not bad input (exit 2, which was also named after ship's own download
 * file): nothing was installed, and the next run reads the settled file.
 */
function changedDuringDownload(where: string, what: string): ReleaseChangedError {
  return new ReleaseChangedError(
    where,
    `changed on the server during the download (${what}): an upload still being written? The next run tries again`,
  );
}

/** A path from the login's home, `~/x`, as the relative path the server takes from the home. */
function fromHome(path: string): string {
  return path.startsWith("~/") ? path.slice(2).replace(/^\/+/, "") || "." : path;
}
