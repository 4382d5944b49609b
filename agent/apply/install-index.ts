/**
 * The install index (<stateDir>/install-index.json): what the current release installed, with the
 * stat of each file right after install, so the next plan trusts a matching stat instead of hashing.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../tree/fs-ops.js";
import type { IndexedFile, InstallIndex } from "./types.js";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// `files` is checked by hand below: zod walking a 20,000-key record costs ~100x more than a loop.
const IndexHeaderSchema = z.object({
  version: z.string(),
  releaseId: z.string().optional(),
  installedAt: z.string(),
  files: z.custom<Record<string, unknown>>(isPlainObject, "must be an object"),
  dirs: z.array(z.string()),
});

const numericFields = ["size", "mode", "mtimeMs", "ino"] as const;

/**
 * Validates one file entry by hand: a zod parse of a 20,000-entry record costs ~300 ms, a loop of
 * typeof checks a few, and this file is read on every update.
 */
function isIndexedFile(value: unknown): value is IndexedFile {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  if (typeof entry.sha256 !== "string") return false;
  if (entry.merged !== undefined && typeof entry.merged !== "boolean") return false;
  if (entry.ctimeMs !== undefined && typeof entry.ctimeMs !== "number") return false;
  return numericFields.every((field) => typeof entry[field] === "number");
}

function parseIndex(text: string, path: string): InstallIndex {
  const header = IndexHeaderSchema.parse(JSON.parse(text));
  for (const [rel, entry] of Object.entries(header.files)) {
    if (!isIndexedFile(entry)) throw new Error(`${path}: malformed entry for ${rel}`);
  }
  return header as InstallIndex;
}

export const INDEX_FILE = "install-index.json";

export function indexPath(stateDir: string): string {
  return join(stateDir, INDEX_FILE);
}

/** Parses an index file; undefined when the file does not exist (nothing installed by ship yet). */
export async function readIndexFile(path: string): Promise<InstallIndex | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseIndex(text, path);
}

/**
 * The last install index parsed, by path, with the exact text it came from. One run reads the index
 * several times (the source's check and fetch, the planner, finalize, rollback); parsing 20,000
 * entries costs far more than reading the file, so an unchanged text reuses the parsed object. The
 * text is always read and compared, so a changed, replaced or corrupt file is never served stale.
 * Callers must not mutate the result (none does: finalize builds a new one).
 */
let lastParsed: { path: string; text: string; index: InstallIndex } | undefined;

/** What the current release installed into the app, or undefined before ship's first install. */
export async function readInstallIndex(stateDir: string): Promise<InstallIndex | undefined> {
  const path = indexPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (lastParsed?.path === path && lastParsed.text === text) return lastParsed.index;
  const index = parseIndex(text, path);
  lastParsed = { path, text, index };
  return index;
}

export async function writeInstallIndex(stateDir: string, index: InstallIndex | undefined): Promise<void> {
  if (index === undefined) await rm(indexPath(stateDir), { force: true });
  else await writeFileAtomic(indexPath(stateDir), JSON.stringify(index));
}

/** Pristine release copies of merged files, by sha256: the base of the next three-way merge. */
export function basePath(stateDir: string, sha256: string): string {
  return join(stateDir, "base", sha256);
}
