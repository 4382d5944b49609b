/**
 * `type = "local"`: a release directory or archive on this machine (a mounted share, a CI
 * artifact dropped by rsync). A directory is read in place through a stat index (only changed files
 * are hashed) and only files the app does not already hold are copied, never linked: the operator's
 * directory may change while the update runs, and every copy is checked against the scan's hash.
 */
import { createHash } from "node:crypto";
import { open, realpath, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Transform } from "node:stream";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import type { LocalSource as LocalSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, ReleaseChangedError } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { ArchiveFormatError } from "../archive/archive-format-error.js";
import type { ExtractOptions, ExtractResult } from "../archive/extract.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { stampOf } from "../tree/file-stamp.js";
import { compareWithIndex } from "./app-holds.js";
import { ArchiveHashCache } from "./archive-hash-cache.js";
import { checksumToVerify } from "./artifact.js";
import { linkTargets, namesAlongLinks } from "./broken-link.js";
import {
  findSha256,
  readChecksumFile,
  sha256File,
  sha256SumFor,
  verifySha256,
  withChecksumOrigin,
} from "./checksum.js";
import { companionAlong } from "./companion-along.js";
import { localLinkReader } from "./local-link.js";
import { localReadError } from "./local-read-error.js";
import { metadataPath, SourceMetadataStore } from "./metadata.js";
import {
  extractedRelease,
  manifestInside,
  readReleaseVersion,
  shortId,
  updateExtractOptions,
} from "./release-info.js";
import { type ScannedRelease, scanReleaseDir } from "./release-scan.js";
import { stageChanged, stageFiles } from "./stage-changed.js";
import { nowMs } from "./stat-index.js";
import type { FetchedRelease, ReleaseSource, SourceContext, UpdateCheck } from "./types.js";

const Installed = z.object({
  fingerprint: z.string(),
  version: z.string().optional(),
  installedAt: z.string(),
});
type Installed = z.infer<typeof Installed>;

interface Offer {
  /** Undefined: an archive whose stat changed, hashed only as the fetch extracts it. */
  fingerprint: string | undefined;
  version?: string;
}

export class LocalSource implements ReleaseSource {
  readonly type = "local";
  private readonly store: SourceMetadataStore<Installed>;
  /** Versions of releases fetched in this run, so commit() can record them after staging is gone. */
  private readonly fetchedVersions = new Map<string, string | undefined>();
  private scanned: Promise<ScannedRelease> | undefined;
  /** The archive's sha256 as check() read it, with the stat it had: fetch() reuses it while the stat holds. */
  private archiveHash: { stamp: string; sha256: string } | undefined;
  private readonly archiveHashes: ArchiveHashCache;

  constructor(
    readonly name: string,
    private readonly cfg: LocalSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.store = new SourceMetadataStore(metadataPath(ctx.stateDir, name), name, Installed);
    this.archiveHashes = new ArchiveHashCache(ctx.stateDir, cfg.path);
  }

  async check(): Promise<UpdateCheck> {
    const installed = await this.installedId();
    const offer = await this.identify().catch((err: unknown) => {
      throw this.readError(err);
    });
    const available = offer.fingerprint === undefined || installed?.id !== offer.fingerprint;
    const current = installed === undefined ? undefined : (installed.version ?? shortId(installed.id ?? ""));
    const candidate =
      offer.version ??
      (offer.fingerprint === undefined
        ? `${basename(this.cfg.path)} (changed since it was last read; hashed as it is extracted)`
        : shortId(offer.fingerprint));
    const detail = available
      ? `${this.name}: update available ${current ?? this.ctx.noneInstalled ?? "(nothing installed)"} -> ${candidate} from ${this.cfg.path}`
      : // The installed release is named by its version, as the fetch's "up to date" and the other
        // sources name it: an archive's candidate is its digest, and the run said "up to date
        // (sha256:…)" or "(2.0.0)" for one release depending on whether its hash was remembered.
        `${this.name}: up to date (${current ?? candidate})`;
    return {
      available,
      current,
      candidate,
      detail,
      ...(offer.fingerprint === undefined ? { namedByFetch: true } : {}),
    };
  }

  async fetch(stagingDir: string): Promise<FetchedRelease> {
    const kind = await this.pathKind();
    const release = await (kind === "directory"
      ? this.fetchDirectory(stagingDir)
      : this.fetchArchive(stagingDir)
    ).catch((err: unknown) => {
      throw this.readError(err);
    });
    this.fetchedVersions.set(release.id, await readReleaseVersion(stagingDir));
    return release;
  }

  /**
   * A failure reading the release, named for the operator (localReadError); an archive that is no
   * tar (a .zip, an empty file) names the key that points at it; others as they came.
   */
  private readError(err: unknown): unknown {
    const key = `sources.${this.name}.path`;
    if (err instanceof ArchiveFormatError)
      return BadInputError.single("ship.toml", key, `${this.cfg.path}: ${err.reason}`);
    return localReadError(err, this.cfg.path, key);
  }

  /**
   * What is installed: the install index's release id when the pipeline provides it (rollbacks keep
   * it true), else what this source last committed.
   */
  private async installedId(): Promise<{ id?: string; version?: string } | undefined> {
    const read = this.ctx.installedId ?? this.ctx.installed;
    if (read !== undefined) {
      const installed = await read();
      return installed === undefined ? undefined : { id: installed.releaseId, version: installed.version };
    }
    const stored = await this.store.read();
    return stored === undefined ? undefined : { id: stored.fingerprint, version: stored.version };
  }

  /**
   * Only files the app does not already hold are copied; the planner gets the whole release from
   * the scan's listing and asks for any file it finds missing later (the app changed meanwhile).
   */
  private async fetchDirectory(stagingDir: string): Promise<FetchedRelease> {
    const root = this.cfg.path;
    const scanned = await this.scan();
    // Compared once here: staging wants what differs, and the checks before the hooks read the same.
    const compared = compareWithIndex(scanned.listing.files, await this.ctx.installed?.());
    const options = {
      keepMtimes: this.cfg.keep_mtimes === true,
      onProgress: progressReporter({
        label: root,
        log: this.ctx.log,
        action: "staging",
        delayMs: PROGRESS_DELAY_MS,
      }),
    };
    let staged: Awaited<ReturnType<typeof stageChanged>>;
    try {
      staged = await stageChanged(root, stagingDir, scanned, compared, options);
    } catch (err) {
      this.scanned = undefined;
      throw err;
    }
    this.ctx.log.info("staged local release directory", {
      source: this.name,
      path: root,
      files: staged.files,
      bytes: staged.bytes,
      unchanged: staged.skipped,
      hashed: scanned.hashed,
    });
    return {
      dir: stagingDir,
      originDir: root,
      id: scanned.id,
      fileHashes: staged.hashes,
      listing: scanned.listing,
      ...(compared === undefined ? {} : { comparedWithIndex: compared }),
      materialize: async (rels) => {
        await stageFiles(root, stagingDir, scanned, rels, options).catch((err: unknown) => {
          throw this.readError(err);
        });
      },
    };
  }

  /** The release directory scanned once per run (check, then fetch), through the stat index. */
  private async scan(): Promise<ScannedRelease> {
    const indexFile = join(this.ctx.stateDir, "stat-index");
    this.scanned ??= scanReleaseDir(
      this.cfg.path,
      indexFile,
      nowMs,
      this.ctx.readOnly === true ? false : (this.ctx.deferCacheWrite ?? true),
    );
    return this.scanned;
  }

  async commit(release: FetchedRelease): Promise<void> {
    await this.store.write({
      fingerprint: release.id,
      version: this.fetchedVersions.get(release.id),
      installedAt: new Date().toISOString(),
    });
  }

  /**
   * Extracts the archive. When its sha256 is not known yet (a new or rewritten file), it is hashed
   * in the same read as the extraction rather than in a pass of its own before it (~1 s of a 500 MB
   * archive); the checksum is then verified before staging is handed on, and a release that turns
   * out to be the installed one ends the run as up to date.
   */
  private async fetchArchive(stagingDir: string): Promise<FetchedRelease> {
    const path = this.cfg.path;
    const before = await stat(path);
    const progress = progressReporter({
      label: basename(path),
      log: this.ctx.log,
      action: "extracting",
      delayMs: PROGRESS_DELAY_MS,
    });
    const options = { ...(await updateExtractOptions(this.name, this.cfg, this.ctx)), onProgress: progress };
    const known = await this.knownArchiveSha256();
    const readStartedMs = Date.now();
    let sha256: string;
    let extracted: ExtractResult;
    const changed = () =>
      new ReleaseChangedError(
        path,
        "the archive changed while it was being read (still being written?); the next run tries again",
      );
    try {
      if (known !== undefined) {
        await this.verifyChecksum(known);
        // Loaded here: a directory source never needs the tar reader.
        const { extractArchive } = await import("../archive/extract.js");
        extracted = await extractArchive(path, stagingDir, options);
        sha256 = known;
      } else {
        ({ sha256, extracted } = await this.extractHashing(stagingDir, options, before.size));
      }
    } catch (error) {
      // A copy still writing the file ends the read early ("unexpected end of file") or feeds it
      // half a member: not a broken archive (exit 2) but one not settled yet, as sftp says of a
      // file that grows. Any refusal of a file that changed under the read is judged next run.
      const now = await stat(path).catch(() => undefined);
      if (now !== undefined && stampOf(now) !== stampOf(before)) throw changed();
      throw error;
    }
    const after = await stat(path);
    // What we hashed may not be what we extracted; the next run will see a settled file.
    if (stampOf(after) !== stampOf(before)) throw changed();
    if (known === undefined) {
      this.archiveHash = { stamp: stampOf(after), sha256 };
      await this.rememberArchiveHash(after, sha256, readStartedMs);
    }
    const { files, bytes, leftOut } = extracted;
    this.ctx.log.info("extracted local release archive", {
      source: this.name,
      path,
      sha256,
      files,
      bytes,
      unchanged: leftOut,
    });
    const id = `sha256:${sha256}`;
    return {
      dir: stagingDir,
      id,
      artifactSha256: sha256,
      artifactPath: path,
      manifestName: manifestInside(path),
      ...(await this.signatureAlongLinks()),
      ...extractedRelease(extracted),
      ...(known === undefined && (await this.installedId())?.id === id ? { installedAlready: true } : {}),
    };
  }

  /**
   * One read of the archive: every chunk goes into the sha256 and on to the extractor. The
   * configured checksum is checked once the last byte is read, before the extraction is handed on;
   * when the extractor refuses the archive and a checksum is configured, the file is hashed to its
   * end, so a wrong file is reported as a checksum mismatch, as when the hash came first.
   */
  private async extractHashing(
    stagingDir: string,
    { onProgress, ...options }: ExtractOptions,
    size: number,
  ): Promise<{ sha256: string; extracted: ExtractResult }> {
    const path = this.cfg.path;
    const hash = createHash("sha256");
    let digest: string | undefined;
    let read = 0;
    // Loaded, and the file opened, before any stream exists: an error emitted while nothing listened
    // yet (an archive ship may not read) crashed the run with an unhandled 'error' event.
    const { extractArchive } = await import("../archive/extract.js");
    const file = (await open(path)).createReadStream({ highWaterMark: 256 * 1024 });
    const body = file.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          read += chunk.length;
          onProgress?.(read, size);
          done(null, chunk);
        },
      }),
    );
    // A read error ends the body with it, so the extraction fails with the file's own error. The
    // extraction's pipeline sees a body that failed before it started (it rejects with the error),
    // so the listener below only keeps such an early failure from being an unhandled 'error'.
    file.on("error", (err) => body.destroy(err));
    body.on("error", () => undefined);
    const complete = async () => {
      digest ??= hash.digest("hex");
      await this.verifyChecksum(digest);
      return path;
    };
    try {
      const extracted = await extractArchive({ body, label: basename(path), complete }, stagingDir, options);
      if (digest === undefined) throw new Error(`${path}: the archive was extracted but not hashed`);
      return { sha256: digest, extracted };
    } catch (err) {
      file.destroy();
      body.destroy();
      if (digest === undefined && this.cfg.checksum !== undefined)
        await this.verifyChecksum(await sha256File(path));
      throw err;
    }
  }

  /** Keeps the archive's sha256 for later runs: not under --check-only, and not if this run is refused. */
  private async rememberArchiveHash(
    after: Parameters<typeof stampOf>[0] & { mtimeMs: number; ctimeMs: number },
    sha256: string,
    readStartedMs: number,
  ): Promise<void> {
    if (this.ctx.readOnly === true) return;
    const write = () => this.archiveHashes.remember(after, stampOf(after), sha256, readStartedMs);
    if (this.ctx.deferCacheWrite === undefined) await write();
    else this.ctx.deferCacheWrite(write);
  }

  /** The archive's sha256 when this run or an earlier one hashed it at its present stat. */
  private async knownArchiveSha256(): Promise<string | undefined> {
    const stamp = stampOf(await stat(this.cfg.path));
    if (this.archiveHash?.stamp === stamp) return this.archiveHash.sha256;
    const remembered = await this.archiveHashes.lookup(stamp, Date.now());
    if (remembered !== undefined) this.archiveHash = { stamp, sha256: remembered };
    return remembered;
  }

  /**
   * sha256 of the archive, read in full unless known (see knownArchiveSha256); what a full read
   * learns is remembered for later runs, except under --check-only, which writes nothing.
   */
  private async archiveSha256(): Promise<string> {
    const known = await this.knownArchiveSha256();
    if (known !== undefined) return known;
    const readStartedMs = Date.now();
    const stamp = stampOf(await stat(this.cfg.path));
    const sha256 = await sha256File(this.cfg.path);
    const after = await stat(this.cfg.path);
    if (stampOf(after) === stamp) {
      this.archiveHash = { stamp, sha256 };
      await this.rememberArchiveHash(after, sha256, readStartedMs);
    }
    return sha256;
  }

  private async verifyChecksum(actual: string): Promise<void> {
    const where = `sources.${this.name}.checksum`;
    const spec = checksumToVerify(this.cfg.checksum, this.cfg.security, where, this.ctx);
    if (spec === undefined) return;
    if (spec.kind === "inline") {
      verifySha256(actual, spec.sha256, this.cfg.path);
      return;
    }
    const file = spec.location.startsWith("file://") ? fileURLToPath(spec.location) : spec.location;
    if (!file.startsWith("/"))
      throw BadInputError.single("ship.toml", where, "a local source's checksum file must be a path");
    const name = basename(this.cfg.path);
    const text = await readChecksumFile(file, where);
    // A `latest` link: the sums list the release by the name of a file it leads to, on the way or
    // at the end (realpath's, for a link through a linked directory).
    const sum =
      findSha256(text, name, file) ??
      sha256SumFor(
        text,
        [
          name,
          ...(await namesAlongLinks(localLinkReader, this.cfg.path)),
          basename(await realpath(this.cfg.path).catch(() => this.cfg.path)),
        ],
        file,
      );
    try {
      verifySha256(actual, sum.sha256, this.cfg.path);
    } catch (err) {
      throw withChecksumOrigin(err, sum, name, file);
    }
  }

  /**
   * With [trust] keys, the .sig beside a file a `latest` link leads through when none is beside
   * the link (companionAlong). Any entry counts as there: a .sig that is a dangling link is a
   * signature that cannot be read, which the trust check says, not "unsigned".
   */
  private async signatureAlongLinks(): Promise<{ signaturePath?: string }> {
    if (this.ctx.signatures !== true) return {};
    const path = this.cfg.path;
    const found = await companionAlong(
      `${path}.sig`,
      async () => (await linkTargets(localLinkReader, path)).targets.map((target) => `${target}.sig`),
      async (sig) => ((await localLinkReader.kind(sig)) === "absent" ? undefined : true),
    );
    return found === undefined ? {} : { signaturePath: found.place };
  }

  private async identify(): Promise<Offer> {
    if ((await this.pathKind()) === "directory") {
      // Silently ignoring it would let an operator believe a directory is verified.
      if (this.cfg.checksum !== undefined) {
        throw BadInputError.single(
          "ship.toml",
          `sources.${this.name}.checksum`,
          `a checksum verifies an archive, but ${this.cfg.path} is a directory; remove the key or point path at the archive`,
        );
      }
      return { fingerprint: (await this.scan()).id, version: await readReleaseVersion(this.cfg.path) };
    }
    const known = await this.knownArchiveSha256();
    if (known !== undefined) return { fingerprint: `sha256:${known}` };
    // A read-only check must say whether there is an update, so it reads the archive now, unless a
    // fetch follows (--check-only's): that one read hashes it as it extracts, as in a real run, and
    // reading it here too doubled what --check-only read of a new archive.
    if (this.ctx.readOnly === true && this.ctx.fetchFollows !== true)
      return { fingerprint: `sha256:${await this.archiveSha256()}` };
    return { fingerprint: undefined };
  }

  private async pathKind(): Promise<"directory" | "archive"> {
    const st = await stat(this.cfg.path).catch((err: unknown) => {
      throw BadInputError.single(
        "ship.toml",
        `sources.${this.name}.path`,
        `${this.cfg.path}: ${fsErrorText(err)}`,
      );
    });
    if (st.isDirectory()) return "directory";
    if (st.isFile()) return "archive";
    throw BadInputError.single(
      "ship.toml",
      `sources.${this.name}.path`,
      `${this.cfg.path} is neither a directory nor a file`,
    );
  }
}
