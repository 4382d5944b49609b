/**
 * Data shared by the planner, the journaled apply, recovery and restore. Plain JSON-able records:
 * the journal and backup metadata store them as they are.
 */
import type { FileRule } from "../../shared/manifest/schema.js";
import type { AppDirMark } from "./app-dir-mark.js";
import type { IndexFiles } from "./index-files.js";

/** One regular file or symlink, as stat saw it (never followed). */
export interface TreeEntry {
  type: "file" | "symlink";
  size: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeMs: number;
  ino: number;
  /** Inode change time: moves on any write, even one that puts size and mtime back (`touch -r`). */
  ctimeMs?: number;
}

/** What a scan of a directory found; paths are POSIX, relative, without "./". */
export interface TreeScan {
  files: Map<string, TreeEntry>;
  /** Every directory (not symlinked ones) with its permission bits. */
  dirs: Map<string, number>;
  /**
   * Sockets, FIFOs, devices and entries whose names are not UTF-8 (what each is, "a socket"): never
   * app content, never written over, and each keeps its directory from counting as empty.
   */
  special?: Map<string, string>;
  /**
   * Regular files with more than one name (hard links), by path: an update renames a new file over
   * the app's name, so the other names keep the old content (hard-links.ts says so).
   */
  linked?: Map<string, LinkedFile>;
}

/** A regular file's inode and how many names it has (more than one). */
export interface LinkedFile {
  dev: number;
  ino: number;
  nlink: number;
}

/** A release file with its content hash (for a symlink: sha256 of "symlink:" + target). */
export interface ReleaseEntry {
  type: "file" | "symlink";
  sha256: string;
  size: number;
  mode: number;
}

/**
 * A staged release: a directory on the app's filesystem (so installing a file is a rename) plus the
 * hash of every file. Sources that extract an archive hash while extracting; for a plain directory
 * `describeRelease(dir)` hashes it.
 */
export interface ReleaseTree {
  dir: string;
  files: Map<string, ReleaseEntry>;
  /** Permission bits of the release's directories (new app directories get them; default 0o755). */
  dirs?: Map<string, number>;
}

/** What the current release installed; the planner trusts it plus a stat instead of hashing the app. */
export interface InstallIndex {
  version: string;
  /**
   * The source's id of the installed release (git commit, `tree:…`, `sha256:…`): sources decide
   * "is there an update" from it, never from their own caches. Absent in indexes written before it existed.
   */
  releaseId?: string;
  /**
   * The configured source whose update installed it. Two sources may fill one app_dir: the other's
   * refusals and rollbacks name it, where they named only a version the operator never asked that
   * source for. Absent in indexes written before it existed.
   */
  source?: string;
  installedAt: string;
  /**
   * The writing run's clock (ms) just before it took the files' stats: an entry whose mtime or
   * ctime is not older than this by RACY_MS vouches for nothing (git's "racy" rule; see
   * install-index.ts). Absent in indexes written before it existed (`installedAt` stands in).
   */
  statAtMs?: number;
  /**
   * The app directory's device and inode and a few of `files` with their inodes, in the header:
   * what tells, without reading the entries, that the index still describes the directory
   * (app-dir-mark.ts). Absent in indexes written before it existed.
   */
  appDirMark?: AppDirMark;
  files: IndexFiles;
  /** Directories ship created; only these are removed when they become empty. */
  dirs: string[];
  /**
   * The release's mode (umask applied) of each of its directories: the base of the next update's
   * three-way decision on a directory's mode (dir-modes.ts). Absent in indexes written before it existed.
   */
  dirModes?: Record<string, number>;
  /**
   * Each merge-rule config the operator made a symlink, with the sha256 of the release's copy the
   * last time ship left the link alone: the next update warns only when that copy changed. Absent
   * in indexes written before it existed (and when nothing is linked).
   */
  linked?: Record<string, string>;
  /**
   * Each merged config's merge_strategies entries that named no key at its last merge (ids from
   * merge/section-names.ts): the next merge warns only about entries not already named. Absent in
   * indexes written before it existed (and when every entry names a key).
   */
  unusedSections?: Record<string, string[]>;
}

export interface IndexedFile {
  /** sha256 of the release's file (for a merged file: the pristine release copy, the next merge's base). */
  sha256: string;
  size: number;
  mode: number;
  mtimeMs: number;
  ino: number;
  /**
   * The inode change time right after the install: an edit in place that restores size and mtime
   * still moves it, so the index stops vouching for the file. Absent in indexes from before it existed;
   * UNVERIFIED_CTIME (install-index.ts) when the stat was too recent to vouch for the content.
   */
  ctimeMs?: number;
  /** Set for merged files: the app's bytes differ from the release's, the base lives in state/base/<sha256>. */
  merged?: boolean;
  /**
   * For a merged file, sha256 of the bytes ship wrote (`sha256` is the release's copy): what a
   * restore compares the file with once its stat no longer vouches for it (a hard link into the
   * rollback hooks' directory, or a rename through a backup, moves the ctime). Absent in older indexes.
   */
  installedSha256?: string;
}

export type MergeFormat = "toml" | "json" | "yaml";

/** The rule that decided a file's fate, for reports. */
export interface RuleRef {
  /** The manifest key that matched (an exact path or a glob), or "(default)". */
  pattern: string;
  rule: FileRule;
}

/**
 * One planned change. A discriminated union with one handler per kind: adding a
 * kind makes the compiler point at every place that must handle it.
 */
export type PlanStep =
  /** A release file the app does not have yet. */
  | { kind: "add"; rel: string; entry: ReleaseEntry; rule: RuleRef }
  /** A release file that replaces a different app file; keepCopy names a sibling copy of the old one. */
  | { kind: "replace"; rel: string; entry: ReleaseEntry; rule: RuleRef; keepCopy?: string }
  /** A config file merged from the app's copy, the release's and the previous release's (base). */
  | {
      kind: "merge";
      rel: string;
      entry: ReleaseEntry;
      rule: RuleRef;
      format: MergeFormat;
      keepCopy?: string;
    }
  /** An app file moved into the backup: dropped by the release or in a `preserve: false` directory. */
  | { kind: "remove"; rel: string; reason: "dropped" | "cleared" }
  /** Nothing to do: the app already has these bytes. */
  | { kind: "keep"; rel: string }
  /**
   * Never touched: inside a protected directory, a `skip` rule, or a config a merge rule names that
   * the operator replaced with a symlink (`linked`: theirs, merged by hand).
   */
  | { kind: "skip"; rel: string; reason: "protected" | "rule"; pattern: string }
  /** `sha256`: the release's copy that was not installed, recorded so an unchanged one is not warned about again. */
  | { kind: "skip"; rel: string; reason: "linked"; pattern: string; sha256: string };

export type PlanStepKind = PlanStep["kind"];

export interface UpdatePlan {
  steps: PlanStep[];
  /** Directories to create (parents first) and to remove because they became empty (children first). */
  mkdirs: { rel: string; mode: number }[];
  rmdirs: { rel: string; mode: number }[];
  /** Existing directories whose mode the release changed: `mode` is the new one, `was` the app's. */
  chmods: { rel: string; mode: number; was: number }[];
  /** Reasons the release cannot be applied without clobbering something (file vs directory, symlinked parent). */
  conflicts: PlanConflict[];
}

/** A path the plan may not write, and why (`problem` names any other path already fit to show). */
export interface PlanConflict {
  rel: string;
  problem: string;
}

/** Counts per step kind, for logs and reports. */
export type PlanSummary = Record<PlanStepKind, number>;
