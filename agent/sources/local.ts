/**
 * `type = "local"`: a release directory or archive on this machine (a mounted share, a CI
 * artifact dropped by rsync). Directories are copied, never linked: the operator's directory may
 * change while the update runs.
 */
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { LocalSource as LocalSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import { extractArchive } from "../archive/extract.js";
import { checksumToVerify } from "./artifact.js";
import { parseSha256Sums, sha256File, verifySha256 } from "./checksum.js";
import { metadataPath, SourceMetadataStore } from "./metadata.js";
import { copyReleaseDir, treeDigest } from "./release-dir.js";
import { extractOptionsFor, readReleaseVersion, shortId } from "./release-info.js";
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

  constructor(
    readonly name: string,
    private readonly cfg: LocalSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.store = new SourceMetadataStore(metadataPath(ctx.stateDir, name), name, Installed);
  }

  async check(): Promise<UpdateCheck> {
    const installed = await this.store.read();
    const offer = await this.identify();
    const available = installed?.fingerprint !== offer.fingerprint;
    const current =
      installed === undefined ? undefined : (installed.version ?? shortId(installed.fingerprint));
    const candidate = offer.version ?? shortId(offer.fingerprint);
    const detail = available
      ? `${this.name}: update available ${current ?? "(nothing installed)"} -> ${candidate} from ${this.cfg.path}`
      : `${this.name}: up to date (${candidate})`;
    return { available, current, candidate, detail };
  }

  async fetch(stagingDir: string): Promise<FetchedRelease> {
    const kind = await this.pathKind();
    let release: FetchedRelease;
    if (kind === "directory") {
      const copied = await copyReleaseDir(this.cfg.path, stagingDir, { keepMtimes: this.cfg.keep_mtimes });
      release = {
        dir: stagingDir,
        id: `tree:${await treeDigest(stagingDir, copied.hashes)}`,
        fileHashes: copied.hashes,
      };
      this.ctx.log.info("copied local release directory", {
        source: this.name,
        path: this.cfg.path,
        files: copied.files,
        bytes: copied.bytes,
      });
    } else {
      release = await this.fetchArchive(stagingDir);
    }
    this.fetchedVersions.set(release.id, await readReleaseVersion(stagingDir));
    return release;
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
    const sha256 = await sha256File(path);
    await this.verifyChecksum(sha256);
    const { files, bytes, hashes } = await extractArchive(path, stagingDir, extractOptionsFor(this.cfg));
    const after = await stat(path);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      // What we hashed may not be what we extracted; the next run will see a settled file.
      throw new VerificationError(path, "the archive changed while it was being read; try again");
    }
    this.ctx.log.info("extracted local release archive", { source: this.name, path, sha256, files, bytes });
    return {
      dir: stagingDir,
      id: `sha256:${sha256}`,
      artifactSha256: sha256,
      artifactPath: path,
      fileHashes: hashes,
    };
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
      return {
        fingerprint: `tree:${await treeDigest(this.cfg.path)}`,
        version: await readReleaseVersion(this.cfg.path),
      };
    }
    return { fingerprint: `sha256:${await sha256File(this.cfg.path)}` };
  }

  private async pathKind(): Promise<"directory" | "archive"> {
    const st = await stat(this.cfg.path).catch((err: NodeJS.ErrnoException) => {
      throw BadInputError.single(
        "ship.toml",
        `sources.${this.name}.path`,
        `${this.cfg.path}: ${err.code ?? err.message}`,
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
