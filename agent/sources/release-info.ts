/** Small facts about a staged release that several sources need. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import type { SecurityPolicy } from "../../shared/manifest/schema.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ExtractOptions, ExtractResult } from "../archive/extract.js";
import { mbSetting } from "../archive/limits.js";
import { appHoldsUnchanged } from "./app-holds.js";
import type { FetchedRelease, SourceContext } from "./types.js";

/**
 * The `version` of the manifest at the root of `dir`, or undefined. Lenient on purpose: this only
 * labels the release for `--check-only`; the pipeline validates the manifest properly.
 */
export async function readReleaseVersion(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILENAME), "utf8");
  } catch {
    return undefined;
  }
  return manifestVersionOf(text);
}

/**
 * How a manifest inside an archive (a file, a URL, an sftp:// place) is named to the operator, as
 * `ship release sign` and `publish` name it: the staged copy is gone once the run ends.
 */
export function manifestInside(archive: string): string {
  return `${archive}!${MANIFEST_FILENAME}`;
}

/** The `version` of a manifest's text, or undefined when it has none or does not parse. */
export function manifestVersionOf(text: string): string | undefined {
  try {
    const doc: unknown = parse(text);
    if (typeof doc !== "object" || doc === null) return undefined;
    const version = (doc as Record<string, unknown>).version;
    return typeof version === "string" || typeof version === "number" ? String(version) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Extraction options from the config of source `name`: limits from its `[security]` table (a file
 * refused by one names the key), keep_mtimes.
 */
export function extractOptionsFor(
  name: string,
  source: { security: SecurityPolicy; keep_mtimes: boolean },
): ExtractOptions {
  const mb = source.security.max_file_size_mb;
  const keepMtimes = source.keep_mtimes;
  if (mb === undefined) return { keepMtimes };
  return {
    keepMtimes,
    maxFileBytes: Math.floor(mb * 1024 * 1024),
    maxFileSetting: mbSetting(`[sources.${name}.security] max_file_size_mb`, mb),
  };
}

/**
 * Extraction options for an update: the config's, plus what the app holds (install index + stat),
 * so files the app already has byte for byte are left out of staging. Every archive source
 * (local, http(s), sftp, hub artifacts, the daemon's) extracts through this.
 */
export async function updateExtractOptions(
  name: string,
  source: { security: SecurityPolicy; keep_mtimes: boolean },
  ctx: Pick<SourceContext, "installed">,
): Promise<ExtractOptions> {
  const installed = await ctx.installed?.();
  const options = extractOptionsFor(name, source);
  return installed === undefined ? options : { ...options, appHolds: appHoldsUnchanged(installed) };
}

/** The FetchedRelease fields of an extraction: its hashes, and the listing when files were left out. */
export function extractedRelease(
  extracted: ExtractResult,
): Pick<FetchedRelease, "fileHashes" | "listing" | "materialize"> {
  const { hashes, listing, materialize } = extracted;
  return listing === undefined || materialize === undefined
    ? { fileHashes: hashes }
    : { fileHashes: hashes, listing, materialize };
}

/** A short human label for a fingerprint such as "sha256:<64 hex>". */
export function shortId(id: string): string {
  const [kind, value] = id.includes(":") ? (id.split(":", 2) as [string, string]) : ["", id];
  return kind === "" ? value.slice(0, 12) : `${kind}:${value.slice(0, 12)}`;
}
