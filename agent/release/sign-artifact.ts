/** `ship release keygen` and `ship release sign`: the CI side of release signatures. */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { appNameProblem } from "../../shared/app-name.js";
import { BadInputError, type Issue } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { parseManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { generateKeyPair, KeyFormatError } from "../../shared/signing/keys.js";
import { type Signature, signRelease } from "../../shared/signing/signature.js";
import { hashFile } from "../tree/hash-file.js";
import {
  type ArchiveKeyPolicy,
  archiveManifestName,
  checkReleaseArchive,
  manifestTextInArchive,
  readManifestFromArchive,
} from "./archive-manifest.js";
import { readInputFile, readManifestInput } from "./read-input.js";

export interface WrittenKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: "wx", mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw BadInputError.single(path, "", "already exists; refusing to overwrite a key");
    }
    throw e;
  }
}

/** A new key pair in `dir`: ship-release.key (mode 600) and ship-release.pub. Never overwrites. */
export async function writeKeyPair(dir: string): Promise<WrittenKeys> {
  await makeDirs(dir);
  const pair = generateKeyPair();
  const privateKeyPath = join(dir, "ship-release.key");
  const publicKeyPath = join(dir, "ship-release.pub");
  // The public key is written second so a refused private key leaves nothing half-made.
  await writeNew(privateKeyPath, pair.privateKeyPem, 0o600);
  await writeNew(publicKeyPath, pair.publicKeyPem, 0o644);
  return { privateKeyPath, publicKeyPath, keyId: pair.keyId };
}

export interface SignOptions {
  /** The archive to sign; not read for a git release (`gitCommit`). */
  artifact?: string;
  /** Where the signature goes; default ARTIFACT.sig, or APP-VERSION.git.sig in `dir` for a git release. */
  out?: string;
  dir?: string;
  privateKeyPath: string;
  /** Manifest file; default: the update-manifest.yaml inside the artifact. */
  manifestPath?: string;
  /** Default: the manifest's version. */
  version?: string;
  /** Default: the archive name before `-VERSION.tar.gz`. */
  app?: string;
  /** Sign a git release: the artifact digest becomes `git:<commit>` and no archive is read. */
  gitCommit?: string;
  /** Archive entries that hold a private key and are meant to ship (--allow-private-key). */
  allowPrivateKeys?: readonly string[];
  /**
   * The archive was just built by `ship release sftp --sign-key`, whose build refused (or was told
   * to allow) each private key already, by the paths the operator named there.
   */
  builtHere?: boolean;
}

/** What a signature would spread: an archive holding a private key is refused (archive-manifest.ts). */
const keyPolicy = (o: SignOptions): ArchiveKeyPolicy | undefined =>
  o.builtHere === true ? undefined : { allowPrivateKeys: o.allowPrivateKeys ?? [], what: "signed" };

export const sha256Text = (text: string): string => createHash("sha256").update(text).digest("hex");

function appFromArchiveName(artifact: string | undefined, version: string): string | undefined {
  if (artifact === undefined) return undefined;
  const name = basename(artifact);
  const suffix = `-${version}.tar.gz`;
  return name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
}

/**
 * Why the archive's name gave no app. `myapp-1.2.0.tar.gz` signed with a --manifest of 9.9.9 read
 * "does not say the app (APP-9.9.9.tar.gz)", about a name that does: the versions differ.
 */
function unnamedApp(artifact: string | undefined, version: string): string {
  const named = artifact === undefined ? null : /^(.+)-(\d[^/]*)\.tar\.gz$/.exec(basename(artifact));
  return named === null
    ? `the archive's name does not say the app (APP-${version}.tar.gz)`
    : `the archive's name ${named[0]} is for version ${named[2]}, and the manifest says ${version}`;
}

/** The command line's ARTIFACT argument names no archive (and no --git-commit was given). */
function missingArtifact(): BadInputError {
  return BadInputError.single(
    "ARTIFACT",
    "",
    "missing: name the archive to sign (or --git-commit with --manifest)",
  );
}

async function manifestOf(o: SignOptions): Promise<{ text: string; file: string }> {
  if (o.manifestPath !== undefined) {
    const text = await readManifestInput(o.manifestPath, "--manifest");
    // A signature vouches for the archive: one no agent can unpack is refused before it is signed.
    if (o.artifact !== undefined && o.gitCommit === undefined)
      await checkReleaseArchive(o.artifact, keyPolicy(o));
    return { text, file: o.manifestPath };
  }
  if (o.artifact === undefined)
    throw o.gitCommit === undefined
      ? missingArtifact()
      : BadInputError.single("--manifest", "", "is required with --git-commit (no archive to read it from)");
  return {
    text: await readManifestFromArchive(o.artifact, keyPolicy(o)),
    file: archiveManifestName(o.artifact),
  };
}

async function artifactDigest(o: SignOptions): Promise<string> {
  if (o.gitCommit !== undefined) {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(o.gitCommit)) {
      throw BadInputError.single("--git-commit", "", "must be a full commit hash (git rev-parse HEAD)");
    }
    return `git:${o.gitCommit}`;
  }
  if (o.artifact === undefined) throw missingArtifact();
  const artifact = o.artifact;
  return hashFile(artifact).catch((e: Error) => {
    throw BadInputError.single("ARTIFACT", "", `cannot read ${artifact}: ${fsErrorText(e)}`);
  });
}

export async function signArtifact(
  o: SignOptions,
): Promise<{ signature: Signature; path: string; notes: string[]; warnings: Issue[] }> {
  const manifestFile = await manifestOf(o);
  const notes = await manifestNotes(o, manifestFile.text);
  const { manifest, warnings } = parseManifestText(manifestFile.text, manifestFile.file);
  // Agents compare the signed version with the release's (the manifest's, or the hub's, which the
  // hub checks against the manifest): a signature for any other version would be refused everywhere.
  if (o.version !== undefined && o.version !== manifest.version) {
    throw BadInputError.single(
      "--version",
      "",
      `${o.version} is not the release's version: the manifest says ${manifest.version}`,
    );
  }
  const version = manifest.version;
  const app = o.app ?? appFromArchiveName(o.artifact, version);
  if (app === undefined)
    throw BadInputError.single("--app", "", `is needed: ${unnamedApp(o.artifact, version)}`);
  // The name taken from the archive's file name gets the rule --app gets (checked by the caller).
  const appProblem = appNameProblem(app);
  if (appProblem !== undefined)
    throw BadInputError.single(
      "--app",
      "",
      `${JSON.stringify(app.slice(0, 100))} (from the archive's name) ${appProblem}`,
    );
  const artifactSha256 = await artifactDigest(o);
  const privateKeyPem = await readInputFile(o.privateKeyPath, "--key");
  let signature: Signature;
  try {
    signature = signRelease(
      { app, version, artifactSha256, manifestSha256: sha256Text(manifestFile.text) },
      privateKeyPem,
    );
  } catch (e) {
    // "is a public key" alone named no file: the flag and its path say which key to replace.
    if (!(e instanceof KeyFormatError)) throw e;
    throw BadInputError.single("--key", "", `${o.privateKeyPath}: ${e.message}`);
  }
  const path =
    o.out ??
    (o.artifact !== undefined && o.gitCommit === undefined
      ? `${o.artifact}.sig`
      : join(o.dir ?? ".", `${app}-${version}.git.sig`));
  await writeFile(path, `${JSON.stringify(signature, null, 2)}\n`);
  return { signature, path, notes, warnings };
}

/**
 * An archive's own update-manifest.yaml is what an http, sftp or local source verifies: a signature
 * over another --manifest (another version, or only its comments changed) was exit 0 here and
 * refused by every such agent ("manifest digest" mismatch). A hub release published with the same
 * --manifest verifies, so this is said, not refused.
 */
async function manifestNotes(o: SignOptions, signed: string): Promise<string[]> {
  if (o.manifestPath === undefined || o.artifact === undefined || o.gitCommit !== undefined) return [];
  const inside = await manifestTextInArchive(o.artifact).catch(() => undefined);
  if (inside === undefined || inside === signed) return [];
  return [
    `note: --manifest ${o.manifestPath} is not the ${MANIFEST_FILENAME} inside ${o.artifact}: agents with an http, sftp or local source verify the one inside and will refuse this signature; only a hub release published with this --manifest matches it`,
  ];
}
