/**
 * What the pipeline needs from the other agent modules, as small interfaces. The pipeline only
 * orchestrates: fetching (agent/sources), manifest loading (shared/manifest), conditionals,
 * requirements and the crash-safe apply engine (agent/apply) live in their own folders and are
 * wired in by default-ports.ts; tests may pass their own to reach a failure on purpose.
 */
import type { Source } from "../../shared/config/schema.js";
import type { Issue } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import type { Conditional, Manifest, Requirements } from "../../shared/manifest/schema.js";
import type { MergeReport } from "../../shared/protocol/messages.js";
import type { ImmutableCheck } from "../apply/check-immutable.js";
import type { SplitLink } from "../apply/hard-links.js";
import type { UndoneLink } from "../backup/restore-links.js";
import type { InstalledId, InstalledRelease, ReleaseListing, ReleaseSource } from "../sources/types.js";

export interface SourceContext {
  /** Where the source keeps change-detection metadata (ETag, commit) between runs. */
  stateDir: string;
  log: Logger;
  /** What the install index says the app holds now (see agent/sources/types.ts). */
  installed: () => Promise<InstalledRelease | undefined>;
  /** installed()'s version and release id alone, read without the per-file entries. */
  installedId?: () => Promise<InstalledId | undefined>;
  /**
   * How the check line names what is installed when the install index names nothing: "(nothing
   * installed)" said that of an app the state file still records ship installing (the index was
   * deleted), whose files the update then replaces.
   */
  noneInstalled?: string;
  /** Cache writes held until the run knows its input was good (see agent/sources/types.ts). */
  deferCacheWrite?: (write: () => Promise<void>) => void;
}

export type ConditionalsVerdict =
  | { action: "proceed"; warnings: string[] }
  | { action: "skip"; message: string; warnings: string[] }
  | {
      action: "manual";
      message: string;
      manualSteps: string[];
      warnings: string[];
      /** A skip_update that holds as well: an approval of the manual steps does not lift it. */
      skipMessage?: string;
    };

export interface ConditionalsInput {
  appDir: string;
  /** The staged release: a command() naming a script only it has is warned about. */
  releaseDir?: string;
  currentVersion: string | null;
  targetVersion: string;
  log: Logger;
}

export interface RequirementsVerdict {
  ok: boolean;
  /** One line per failed check, e.g. `required_commands: pg_dump not found`. */
  failures: string[];
}

export interface ApplyInput {
  app: string;
  appDir: string;
  /** Per-app journal, install index and merge bases. */
  stateDir: string;
  backupDir: string;
  releaseDir: string;
  /** The source's id of the release (FetchedRelease.id), recorded in the install index. */
  releaseId: string;
  /**
   * sha256 of the release's regular files as the source wrote them (FetchedRelease.fileHashes), so
   * the engine does not read the whole release again; files it does not name are hashed.
   */
  releaseHashes?: ReadonlyMap<string, string>;
  /** The whole release when `releaseDir` holds only part of it (FetchedRelease.listing). */
  releaseListing?: ReleaseListing;
  /** Stages left-out release files on demand (FetchedRelease.materialize). */
  materialize?: (rels: readonly string[]) => Promise<void>;
  /** `privileged_files` of the source's security and the manifest's: owner, group and mode kept. */
  privilegedFiles?: readonly string[];
  manifest: Manifest;
  version: string;
  previousVersion: string | null;
  log: Logger;
}

export interface AppliedRelease {
  /** Where the pre-update bytes of everything that changed were moved; restore takes it back. */
  backupPath: string;
  /** Counts per plan step kind, for the log and the report. */
  summary: Record<string, number>;
  /** Every merged config file's key report. */
  merges: MergeReport[];
  /** Files ship had not installed that the update replaced: previous versions in `<backupPath>/files/`. */
  overwritten?: string[];
  /** Files ship installed, changed on this host since, that the update replaced or removed. */
  edited?: { replaced: string[]; removed: string[] };
  /** Replaced files ship could not give their owner (`uid:gid`): now ship's. */
  ownersNotKept?: { file: string; owner: string }[];
  /** Files whose copy in the backup (on another filesystem) could not keep their owner (`uid:gid`). */
  backupOwnersNotKept?: { file: string; owner: string }[];
  /** Replaced files with other names (hard links): those names keep the old content. */
  splitLinks?: SplitLink[];
}

export interface RecoveryOutcome {
  /** What recovery found: nothing pending, a finished apply, or an undone one. */
  detail: string;
  /** none: nothing was pending; rolled-back/restored: old files back; completed: the new release is in place. */
  action: "none" | "rolled-back" | "completed" | "restored";
  /** For `completed`: the backup that undoes the update recovery just finished. */
  backupPath?: string;
}

export interface UpdateEngine {
  /** Finishes or undoes a run that was killed; must leave the app fully old or fully new. */
  recover(input: { appDir: string; stateDir: string; log: Logger }): Promise<RecoveryOutcome>;
  /**
   * Backup (as a changeset of what changes) + journaled apply. Writes nothing when it throws before
   * its journal exists. Prunes nothing: keepBackups does, once the update stands.
   */
  apply(input: ApplyInput): Promise<AppliedRelease>;
  /** Prunes the app directory's backups to `keep`, the standing update's own (`backupPath`) first. */
  keepBackups(input: {
    app: string;
    appDir: string;
    stateDir: string;
    backupDir: string;
    keep: number;
    backupPath: string;
    installed: string;
    log: Logger;
  }): Promise<void>;
  /**
   * Parses every config a merge rule of the release names (server, release and previous release
   * copies); throws BadInputError (file:line:column) for one that does not parse. Reads only.
   */
  checkMerges(input: {
    manifest: Manifest;
    releaseDir: string;
    appDir: string;
    stateDir: string;
    /** The operator's own release directory (a local source), which names the release's copies. */
    originDir?: string;
    /** The whole release when `releaseDir` holds only part of it. */
    listing?: ReadonlyMap<string, { type: string; sha256: string }>;
    /** Told each merge rule that merges nothing while the file it likely meant is replaced. */
    warn?: (message: string) => void;
  }): Promise<void>;
  /**
   * Throws BadInputError naming each release path the app holds as an entry of another type that
   * ship may not replace (a directory of the app's own where the release ships a file), or one the
   * kernel forbids changing (an immutable file the release replaces or drops). Reads only.
   */
  checkPaths(input: ImmutableCheck): Promise<void>;
  /** The newest complete backup an update to `replacedBy` made since `since` (ISO), if any. */
  findBackup(input: {
    app: string;
    /** Only backups of this app directory (another config may share backup_dir). */
    appDir: string;
    backupDir: string;
    replacedBy: string;
    since: string;
  }): Promise<string | null>;
  /**
   * Puts the pre-update bytes back from `backupPath`; says which paths it left alone and which
   * files it took the app's name from while other names keep the undone content (hard links).
   */
  restore(input: {
    appDir: string;
    stateDir: string;
    backupPath: string;
    log: Logger;
    /** Directories of the rollback's own hard links to the app's files (ownLinksOf). */
    ownLinks?: readonly string[];
    /** The caller empties the app's trash right after (RestoreInput.callerEmptiesTrash). */
    callerEmptiesTrash?: boolean;
    /** The source restoring (RestoreInput.source). */
    source?: string;
  }): Promise<RestoredFiles>;
}

export interface PipelinePorts {
  openSource(name: string, source: Source, context: SourceContext): ReleaseSource;
  /** Throws BadInputError (exit 2) for a manifest that cannot be used. */
  loadManifest(file: string): Promise<{ manifest: Manifest; warnings: Issue[] }>;
  evaluateConditionals(conditionals: Conditional[], input: ConditionalsInput): Promise<ConditionalsVerdict>;
  checkRequirements(
    requirements: Requirements,
    input: { appDir: string; log: Logger; releaseDir?: string },
  ): Promise<RequirementsVerdict>;
  engine: UpdateEngine;
}

/**
 * Paths a restore did not put back because they were not ship's to touch (behind a symlink, under a
 * directory something else replaced, changed or created since the update); their old versions are
 * kept in `oldVersions`.
 */
export interface LeftAlone {
  paths: string[];
  oldVersions: string;
}

/** What a restore did not simply put back: paths it left alone, names it split from other names. */
export interface RestoredFiles extends LeftAlone {
  linked: UndoneLink[];
}
