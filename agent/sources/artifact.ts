/** Where network sources keep the artifact of the release being installed, and how they verify it. */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { makeDirs } from "../../shared/make-dirs.js";
import type { SecurityPolicy } from "../../shared/manifest/schema.js";
import { type ProgressCallback, progressReporter } from "../download/progress.js";
import { type ChecksumPaths, type ChecksumSpec, parseChecksumSpec, verifySha256 } from "./checksum.js";
import type { FetchOptions, SourceContext } from "./types.js";

/**
 * `<stateDir>/downloads/<source>.artifact`: one per source, overwritten by the next fetch and
 * removed by commit(), so a failed update never leaves more than one file behind.
 */
export async function artifactPathFor(ctx: SourceContext, name: string): Promise<string> {
  const dir = downloadsDir(ctx.stateDir);
  await makeDirs(dir, 0o700);
  return join(dir, `${name}.artifact`);
}

/** Where a source's artifacts (complete or partial) live; nothing in it outlives a run. */
export function downloadsDir(sourceStateDir: string): string {
  return join(sourceStateDir, "downloads");
}

export async function removeArtifact(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  await rm(path, { force: true });
  await rm(signaturePathOf(path), { force: true });
}

/**
 * Where a release's detached signature (CI's `ARTIFACT.sig`, fetched from beside the artifact) is
 * kept; the pipeline checks it against `[trust]` keys. A stale one never outlives its artifact.
 */
export function signaturePathOf(artifactPath: string): string {
  return `${artifactPath}.sig`;
}

/** The caller's progress callback, or a bar/log reporter when it gave none. */
export function progressFor(
  options: FetchOptions | undefined,
  label: string,
  ctx: SourceContext,
): ProgressCallback {
  const given = options?.onProgress;
  if (given !== undefined) return (bytes, total) => given(total ? bytes / total : undefined, bytes);
  return progressReporter({ label, log: ctx.log });
}

/** The checksum to enforce, or undefined when none is configured or verification is off. */
export function checksumToVerify(
  spec: string | undefined,
  security: SecurityPolicy,
  where: string,
  ctx: SourceContext,
  paths: ChecksumPaths = "local",
): ChecksumSpec | undefined {
  if (spec === undefined) return undefined;
  if (!security.verify_checksums) {
    ctx.log.warn("checksum configured but security.verify_checksums = false: not verified", { where });
    return undefined;
  }
  return parseChecksumSpec(spec, where, paths);
}

export async function verifyArtifact(
  artifact: string,
  actual: string,
  expected: string,
  label: string,
): Promise<void> {
  try {
    verifySha256(actual, expected, label);
  } catch (err) {
    await removeArtifact(artifact);
    throw err;
  }
}

/**
 * Whether the release a source just fetched (its id) is the one ship installed: a source whose
 * change detection asked unconditionally (a new url or remote_path) learns only by downloading it.
 */
export async function installedAlready(ctx: SourceContext, id: string): Promise<boolean> {
  return (await ctx.installedId?.())?.releaseId === id;
}
