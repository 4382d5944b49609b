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
import { mbSetting, overLimit } from "../archive/limits.js";
import type { ReleaseListing } from "../sources/types.js";

export interface FilePolicy {
  /** Extensions (".py", or "py") or exact file names ("Dockerfile"); undefined allows everything. */
  allowedTypes?: string[];
  /** The key allowedTypes came from, as a refusal names it: ship.toml's wins over the manifest's. */
  allowedTypesSetting?: string;
  maxFileBytes?: number;
  /** The setting behind maxFileBytes, as a refusal names it (mbSetting). */
  maxFileSetting?: string;
}

/**
 * The config's list wins over the manifest's (the operator decides); the smaller size limit wins.
 * A file refused by either names the key behind it, `[sources.<app>.security] …` or the manifest's
 * `security.…`, so the operator knows which file to change.
 */
export function effectivePolicy(
  app: string,
  fromConfig: SecurityPolicy,
  fromManifest: SecurityPolicy | undefined,
): FilePolicy {
  const sizes = [
    { mb: fromConfig.max_file_size_mb, key: `[sources.${app}.security] max_file_size_mb` },
    { mb: fromManifest?.max_file_size_mb, key: "the manifest's security.max_file_size_mb" },
  ].flatMap(({ mb, key }) => (mb === undefined ? [] : [{ mb, key }]));
  const smallest = sizes.sort((a, b) => a.mb - b.mb)[0];
  const allowedTypes = fromConfig.allowed_file_types ?? fromManifest?.allowed_file_types;
  const allowedTypesSetting =
    fromConfig.allowed_file_types !== undefined
      ? `[sources.${app}.security] allowed_file_types`
      : "the manifest's security.allowed_file_types";
  return {
    ...(allowedTypes ? { allowedTypes, allowedTypesSetting } : {}),
    ...(smallest === undefined
      ? {}
      : { maxFileBytes: smallest.mb * 1024 * 1024, maxFileSetting: mbSetting(smallest.key, smallest.mb) }),
  };
}

/**
 * `listing`: the whole release when `dir` holds only part of it (sizes come from the listing).
 * `neverInstalled`: files the manifest keeps out of the app (its `skip` rules), which the type
 * check passes over: it guards what reaches the app, and the seed pairs its allowed_file_types
 * with `.env: skip`, so a release carrying its `.env` was refused on every run. Their size still
 * counts: they are on this host's disk all the same, in staging.
 */
export async function checkReleaseFiles(
  dir: string,
  policy: FilePolicy,
  listing?: ReleaseListing,
  neverInstalled: (rel: string) => boolean = () => false,
): Promise<void> {
  if (policy.allowedTypes === undefined && policy.maxFileBytes === undefined) return;
  const rels = listing === undefined ? walkFiles(dir, "") : listing.files.keys();
  for await (const rel of rels) {
    if (rel === MANIFEST_FILENAME) continue;
    if (
      policy.allowedTypes !== undefined &&
      !fileTypeAllowed(basename(rel), policy.allowedTypes) &&
      !neverInstalled(rel)
    ) {
      throw new VerificationError(
        rel,
        `file type not in allowed_file_types (${policy.allowedTypes.join(", ")})${
          policy.allowedTypesSetting === undefined ? "" : `: ${policy.allowedTypesSetting}`
        }`,
      );
    }
    if (policy.maxFileBytes !== undefined) {
      const size = listing?.files.get(rel)?.size ?? (await lstat(join(dir, rel))).size;
      if (size > policy.maxFileBytes) {
        throw new VerificationError(rel, overLimit(size, policy.maxFileBytes, policy.maxFileSetting));
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
