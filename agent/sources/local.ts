/**
 * `type = "local"`: a release directory or archive on this machine (a mounted share, a CI
 * artifact dropped by rsync). A directory is read in place through a stat index (only changed files
 * are hashed) and only files the app does not already hold are copied, never linked: the operator's
 * directory may change while the update runs, and every copy is checked against the scan's hash.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { LocalSource as LocalSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, ReleaseChangedError } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { stampOf } from "../tree/file-stamp.js";
import { appHolds } from "./app-holds.js";
import { checksumToVerify } from "./artifact.js";
import { parseSha256Sums, sha256File, verifySha256 } from "./checksum.js";
import { metadataPath, SourceMetadataStore } from "./metadata.js";
import { extractedRelease, readReleaseVersion, shortId, updateExtractOptions } from "./release-info.js";
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
  fingerprint: string;
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

  constructor(
    readonly name: string,
    private readonly cfg: LocalSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.store = new SourceMetadataStore(metadataPath(ctx.stateDir, name), name, Installed);
  }

  async check(): Promise<UpdateCheck> {
    const installed = await this.installedId();
    const offer = await this.identify();
    const available = installed?.id !== offer.fingerprint;
    const current = installed === undefined ? undefined : (installed.version ?? shortId(installed.id ?? ""));
    const candidate = offer.version ?? shortId(offer.fingerprint);
    const detail = available
      ? `${this.name}: update available ${current ?? "(nothing installed)"} -> ${candidate} from ${this.cfg.path}`
      : `${this.name}: up to date (${candidate})`;
    return { available, current, candidate, detail };
  }

  async fetch(stagingDir: string): Promise<FetchedRelease> {
    const kind = await this.pathKind();
    const release =
      kind === "directory" ? await this.fetchDirectory(stagingDir) : await this.fetchArchive(stagingDir);
    this.fetchedVersions.set(release.id, await readReleaseVersion(stagingDir));
    return release;
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
    const holds = appHolds(await this.ctx.installed?.());
    const options = { keepMtimes: this.cfg.keep_mtimes === true };
    let staged: Awaited<ReturnType<typeof stageChanged>>;
    try {
      staged = await stageChanged(root, stagingDir, scanned, holds, options);
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
      materialize: async (rels) => {
        await stageFiles(root, stagingDir, scanned, rels, options);
      },
    };
  }

  /** The release directory scanned once per run (check, then fetch), through the stat index. */
  private async scan(): Promise<ScannedRelease> {
    const indexFile = join(this.ctx.stateDir, "stat-index");
    this.scanned ??= scanReleaseDir(this.cfg.path, indexFile, nowMs, this.ctx.readOnly !== true);
    return this.scanned;
  }

  async commit(release: FetchedRelease): Promise<void> {
    await this.store.write({
      fingerprint: release.id,
      version: this.fetchedVersions.get(release.id),
      installedAt: new Date().toISOString(),
    });
  }

  private async fetchArchive(stagingDir: string): Promise<FetchedRelease> {
    const path = this.cfg.path;
    const before = await stat(path);
    const sha256 = await this.archiveSha256();
    await this.verifyChecksum(sha256);
    // Loaded here: a directory source never needs the tar reader.
    const { extractArchive } = await import("../archive/extract.js");
    const extracted = await extractArchive(path, stagingDir, await updateExtractOptions(this.cfg, this.ctx));
    const after = await stat(path);
    if (stampOf(after) !== stampOf(before)) {
      // What we hashed may not be what we extracted; the next run will see a settled file.
      throw new ReleaseChangedError(path, "the archive changed while it was being read; try again");
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
    return {
      dir: stagingDir,
      id: `sha256:${sha256}`,
      artifactSha256: sha256,
      artifactPath: path,
      ...extractedRelease(extracted),
    };
  }

  /**
   * sha256 of the archive: read once per run. check() hashes it; fetch() takes that hash while the
   * file's stat (inode, size, mtime, ctime) is unchanged, and the extraction is guarded the same way.
   */
  private async archiveSha256(): Promise<string> {
    const stamp = stampOf(await stat(this.cfg.path));
    if (this.archiveHash?.stamp === stamp) return this.archiveHash.sha256;
    const sha256 = await sha256File(this.cfg.path);
    if (stampOf(await stat(this.cfg.path)) === stamp) this.archiveHash = { stamp, sha256 };
    return sha256;
  }

  private async verifyChecksum(actual: string): Promise<void> {
    const where = `sources.${this.name}.checksum`;
    const spec = checksumToVerify(this.cfg.checksum, this.cfg.security, where, this.ctx);
    if (spec === undefined) return;
    let expected: string;
    if (spec.kind === "inline") {
      expected = spec.sha256;
    } else {
      const file = spec.location.startsWith("file://") ? fileURLToPath(spec.location) : spec.location;
      if (!file.startsWith("/"))
        throw BadInputError.single("ship.toml", where, "a local source's checksum file must be a path");
      expected = parseSha256Sums(await readFile(file, "utf8"), basename(this.cfg.path), file);
    }
    verifySha256(actual, expected, this.cfg.path);
  }

  private async identify(): Promise<Offer> {
    if ((await this.pathKind()) === "directory") {
      return { fingerprint: (await this.scan()).id, version: await readReleaseVersion(this.cfg.path) };
    }
    return { fingerprint: `sha256:${await this.archiveSha256()}` };
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
