/**
 * With `[trust]` keys in ship.toml, a standalone release must be signed (`ship release sign` writes
 * ARTIFACT.sig) by one of them over this app, version, artifact and manifest. Wraps the configured
 * source so the check runs right after the fetch, before the pipeline reads anything the release
 * says. (The daemon's hub source checks the hub's signature itself and is not wrapped.)
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parse } from "yaml";
import type { Source, Trust } from "../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { MANIFEST_YAML_OPTIONS, readManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { SignatureError, verifyReleaseTrust } from "../../shared/signing/index.js";
import type { FetchedRelease, FetchOptions, ReleaseSource, UpdateCheck } from "../sources/types.js";
import { pathExists } from "../tree/fs-ops.js";

export function requiresSignatures(trust: Trust | undefined): trust is Trust {
  return trust !== undefined && (trust.keys.length > 0 || trust.key_files.length > 0);
}

export class SignatureCheckingSource implements ReleaseSource {
  constructor(
    private readonly inner: ReleaseSource,
    private readonly trust: Trust,
    private readonly log: Logger,
    /** The source's config, to say why a release of its type cannot be signed. */
    private readonly source?: Source,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  check(): Promise<UpdateCheck> {
    return this.inner.check();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async fetch(stagingDir: string, options?: FetchOptions): Promise<FetchedRelease> {
    const release = await this.inner.fetch(stagingDir, options);
    // Nothing will be installed: the run ends up to date (the installed release was verified).
    if (release.installedAlready === true) return release;
    const what = `${this.name} release ${release.id}`;
    if (release.artifactSha256 === undefined || release.artifactPath === undefined)
      throw this.unsignable(what);
    const file = join(release.dir, MANIFEST_FILENAME);
    if (!(await pathExists(file)))
      throw new VerificationError(
        what,
        `[trust] keys are configured but the release has no ${MANIFEST_FILENAME}`,
      );
    // Read as the manifest loader reads it (bounded, UTF-8 checked): any read error was "has no
    // update-manifest.yaml" (a directory of that name too), and a Latin-1 one was read for its
    // version as U+FFFD text. Valid UTF-8 turns back into the very bytes the signature covers.
    const manifestText = Buffer.from(await readManifestText(file), "utf8");
    const result = await verifyReleaseTrust({
      trust: this.trust,
      app: this.name,
      // Read from the manifest only once its digest matched the signed one: until then its bytes
      // are anyone's, and the YAML parser is no place for them.
      version: () => manifestVersion(manifestText.toString("utf8")),
      artifactSha256: release.artifactSha256,
      manifestSha256: createHash("sha256").update(manifestText).digest("hex"),
      signaturePath: release.signaturePath ?? `${release.artifactPath}.sig`,
      ...(release.signatureOrigin === undefined ? {} : { signatureName: release.signatureOrigin }),
    }).catch((error: unknown) => {
      throw withAppHint(error, this.name);
    });
    if (result.verified) this.log.info("release signature verified", { key: result.keyId });
    return release;
  }

  commit(release: FetchedRelease): Promise<void> {
    return this.inner.commit(release);
  }

  /**
   * A release with no archive has nothing a signature could cover. Said as "<app> release
   * tree:<64 hex>: … has no signed artifact", the app named twice and no word of why: a release
   * directory or a git tree can never be signed in a timer run, so it names the key to change.
   */
  private unsignable(what: string): Error {
    const key = `sources.${this.name}`;
    if (this.source?.type === "local")
      return BadInputError.single(
        "ship.toml",
        `${key}.path`,
        `${this.source.path} is a release directory, which cannot carry a signature, and [trust] keys refuse every unsigned release: point path at the signed archive (ship release sign writes ARCHIVE.sig beside it)`,
      );
    if (this.source?.type === "git")
      return BadInputError.single(
        "ship.toml",
        `${key}.type`,
        "a git release carries a signature only from the hub (ship release sign --git-commit), and [trust] keys refuse every unsigned release in a timer run: take this app's releases from the hub, or from a signed archive (http, sftp, local)",
      );
    return new VerificationError(what, "[trust] keys are configured but this release has no signed artifact");
  }
}

/**
 * In timer mode the app a signature must name is the source's name in ship.toml, which nothing
 * else ties to the `--app` CI built and signed with: say so, or the mismatch reads as tampering.
 */
function withAppHint(error: unknown, source: string): unknown {
  if (!(error instanceof SignatureError) || error.reason !== "app_mismatch" || error.mismatch === undefined)
    return error;
  const { signed } = error.mismatch;
  return new SignatureError(
    "app_mismatch",
    `the release is signed for app ${signed}, and a standalone run checks it against the source's name, ${source}: name the source [sources.${signed}] in ship.toml, or build and sign with --app ${source}`,
    error.mismatch,
  );
}

/** Only the version is needed here; the manifest loader reports anything else wrong with the file. */
function manifestVersion(text: string): string {
  try {
    const version = (parse(text, MANIFEST_YAML_OPTIONS) as { version?: unknown } | null)?.version;
    return version === undefined || version === null ? "" : String(version);
  } catch {
    return "";
  }
}
