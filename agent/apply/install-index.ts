/**
 * The install index (<stateDir>/install-index.json): what the current release installed, with the
 * stat of each file right after install, so the next plan trusts a matching stat instead of hashing.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../tree/fs-ops.js";
import type { InstallIndex } from "./types.js";

const IndexedFileSchema = z.object({
  sha256: z.string(),
  size: z.number(),
  mode: z.number(),
  mtimeMs: z.number(),
  ino: z.number(),
  merged: z.boolean().optional(),
});

const InstallIndexSchema = z.object({
  version: z.string(),
  installedAt: z.string(),
  files: z.record(z.string(), IndexedFileSchema),
  dirs: z.array(z.string()),
});

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
  return InstallIndexSchema.parse(JSON.parse(text));
}

/** What the current release installed into the app, or undefined before ship's first install. */
export async function readInstallIndex(stateDir: string): Promise<InstallIndex | undefined> {
  return readIndexFile(indexPath(stateDir));
}

export async function writeInstallIndex(stateDir: string, index: InstallIndex | undefined): Promise<void> {
  if (index === undefined) await rm(indexPath(stateDir), { force: true });
  else await writeFileAtomic(indexPath(stateDir), JSON.stringify(index));
}

/** Pristine release copies of merged files, by sha256: the base of the next three-way merge. */
export function basePath(stateDir: string, sha256: string): string {
  return join(stateDir, "base", sha256);
}
