/**
 * The operator's file policy over a staged release (`[sources.X.security]`, then the manifest's
 * `security`): allowed file types and a size limit. Path safety (`..`, absolute paths, links out)
 * is the extractor's job; this checks what a safe tree contains.
 */
import { lstat, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME, type SecurityPolicy } from "../../shared/manifest/schema.js";
import { fileTypeAllowed } from "../../shared/schema/file-types.js";
import type { ReleaseListing } from "../sources/types.js";

export interface FilePolicy {
  /** Extensions (".py", or "py") or exact file names ("Dockerfile"); undefined allows everything. */
  allowedTypes?: string[];
  maxFileBytes?: number;
}

/** The config's list wins over the manifest's (the operator decides); the smaller size limit wins. */
export function effectivePolicy(
  fromConfig: SecurityPolicy,
  fromManifest: SecurityPolicy | undefined,
): FilePolicy {
  const sizes = [fromConfig.max_file_size_mb, fromManifest?.max_file_size_mb].filter((n) => n !== undefined);
  const allowedTypes = fromConfig.allowed_file_types ?? fromManifest?.allowed_file_types;
  return {
    ...(allowedTypes ? { allowedTypes } : {}),
    ...(sizes.length > 0 ? { maxFileBytes: Math.min(...sizes) * 1024 * 1024 } : {}),
  };
}

/** `listing`: the whole release when `dir` holds only part of it (sizes come from the listing). */
export async function checkReleaseFiles(
  dir: string,
  policy: FilePolicy,
  listing?: ReleaseListing,
): Promise<void> {
  if (policy.allowedTypes === undefined && policy.maxFileBytes === undefined) return;
  const rels = listing === undefined ? walkFiles(dir, "") : listing.files.keys();
  for await (const rel of rels) {
    if (rel === MANIFEST_FILENAME) continue;
    if (policy.allowedTypes !== undefined && !fileTypeAllowed(basename(rel), policy.allowedTypes)) {
      throw new VerificationError(
        rel,
        `file type not in allowed_file_types (${policy.allowedTypes.join(", ")})`,
      );
    }
    if (policy.maxFileBytes !== undefined) {
      const size = listing?.files.get(rel)?.size ?? (await lstat(join(dir, rel))).size;
      if (size > policy.maxFileBytes) {
        const mb = (policy.maxFileBytes / 1024 / 1024).toString();
        throw new VerificationError(rel, `${size} bytes is over max_file_size_mb = ${mb}`);
      }
    }
  }
}

async function* walkFiles(root: string, rel: string): AsyncGenerator<string> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const entry of entries) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) yield* walkFiles(root, child);
    else yield child;
  }
}
