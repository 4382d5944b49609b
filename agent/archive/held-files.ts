/**
 * Which archive entries may stay out of staging because the app already holds them byte for byte
 * (install index + an unchanged stat, the very test the planner uses to keep a file), and the
 * record of those left out, so the release can still be described in full and written on demand.
 *
 * An entry's release path depends on whether extraction strips a single top directory, which is
 * only known at the end: an entry is left out when the app holds it at either path, and extract.ts
 * judges it again at its real path once that is known. Root-level names and the manifest are
 * always written, so the strip decision on disk is the one a full extraction would make.
 */
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { AppHolds } from "../sources/app-holds.js";

/** A regular file left out of staging. */
export interface LeftOut {
  /** The release path the app holds it at (judged before the top directory was known). */
  rel: string;
  sha256: string;
  size: number;
  mode: number;
}

export class HeldFiles {
  /** Files left out, by archive path (components joined with "/"). */
  readonly leftOut = new Map<string, LeftOut>();
  /** Every hard link seen, link → target (archive paths): a second pass must write both. */
  readonly links = new Map<string, string>();
  /**
   * Hard links to a file left out, which the app does not hold at the link's own path: written by
   * a second pass before extraction ends (archive path → the sha256 they must have).
   */
  readonly owed = new Map<string, string>();

  constructor(readonly holds: AppHolds) {}

  /**
   * The release path at which the app holds exactly these bytes, or undefined when the entry must
   * be written: nothing held, or a root-level name or manifest (these decide the strip).
   */
  heldAt(parts: readonly string[], sha256: string): string | undefined {
    if (parts.length < 2) return undefined;
    if (parts.length === 2 && parts[1] === MANIFEST_FILENAME) return undefined;
    const full = parts.join("/");
    if (this.holds(full, sha256)) return full;
    const stripped = parts.slice(1).join("/");
    return stripped !== MANIFEST_FILENAME && this.holds(stripped, sha256) ? stripped : undefined;
  }

  /** A later entry took this path: whatever was left out there no longer stands. */
  forget(path: string): void {
    this.leftOut.delete(path);
    this.links.delete(path);
    this.owed.delete(path);
  }
}
