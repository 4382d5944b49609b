/** `ship release keygen` and `ship release sign`: the CI side of release signatures. */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { parseManifestText } from "../../shared/manifest/load.js";
import { generateKeyPair } from "../../shared/signing/keys.js";
import { type Signature, signRelease } from "../../shared/signing/signature.js";
import { hashFile } from "../tree/hash-file.js";
import { readManifestFromArchive } from "./archive-manifest.js";

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
  await mkdir(dir, { recursive: true });
  const pair = generateKeyPair();
  const privateKeyPath = join(dir, "ship-release.key");
  const publicKeyPath = join(dir, "ship-release.pub");
  // The public key is written second so a refused private key leaves nothing half-made.
  await writeNew(privateKeyPath, pair.privateKeyPem, 0o600);
  await writeNew(publicKeyPath, pair.publicKeyPem, 0o644);
  return { privateKeyPath, publicKeyPath, keyId: pair.keyId };
}

export interface SignOptions {
  artifact: string;
  privateKeyPath: string;
  /** Manifest file; default: the update-manifest.yaml inside the artifact. */
  manifestPath?: string;
  /** Default: the manifest's version. */
  version?: string;
  /** Default: the archive name before `-VERSION.tar.gz`. */
  app?: string;
  /** Sign a git release: the artifact digest becomes `git:<commit>` and no archive is read. */
  gitCommit?: string;
}

export const sha256Text = (text: string): string => createHash("sha256").update(text).digest("hex");

function appFromArchiveName(artifact: string, version: string): string | undefined {
  const name = basename(artifact);
  const suffix = `-${version}.tar.gz`;
  return name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
}

export async function signArtifact(o: SignOptions): Promise<{ signature: Signature; path: string }> {
  const manifestText =
    o.manifestPath !== undefined
      ? await readFile(o.manifestPath, "utf8")
      : await readManifestFromArchive(o.artifact);
  const { manifest } = parseManifestText(
    manifestText,
    o.manifestPath ?? `${o.artifact}!update-manifest.yaml`,
  );
  const version = o.version ?? manifest.version;
  const app = o.app ?? appFromArchiveName(o.artifact, version);
  if (app === undefined)
    throw BadInputError.single(o.artifact, "--app", "cannot tell the app from the name; pass --app");
  const artifactSha256 = o.gitCommit !== undefined ? `git:${o.gitCommit}` : await hashFile(o.artifact);
  const privateKeyPem = await readFile(o.privateKeyPath, "utf8");
  const signature = signRelease(
    { app, version, artifactSha256, manifestSha256: sha256Text(manifestText) },
    privateKeyPem,
  );
  const path = `${o.artifact}.sig`;
  await writeFile(path, `${JSON.stringify(signature, null, 2)}\n`);
  return { signature, path };
}
