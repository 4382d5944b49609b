/** The data one app's update carries from step to step. Steps fill the optional fields in order. */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import type { CommandEnv } from "../exec/run-command.js";
import type { FetchedRelease, ReleaseSource } from "../sources/types.js";
import type { AppliedRelease, PipelinePorts } from "./ports.js";

export interface UpdateSettings {
  allowDowngrade: boolean;
  /** Multiplies every retry_delay; tests pass 0. */
  delayScale: number;
  /** Timeout for hooks, migrations and cleanup commands that do not set their own. */
  defaultCommandTimeoutSeconds: number;
  /** Install even when the manifest's standalone staged rollout says this host must wait (`--ignore-rollout`; hub mode). */
  ignoreRollout: boolean;
  now: () => Date;
  /**
   * A failure the caller will try again later and say itself (the daemon); the pipeline then logs
   * it at DEBUG only (failure-log.ts). Absent: every failure is an ERROR (a timer run gives up).
   */
  retriedLater?: (error: unknown) => boolean;
}

export interface UpdatePaths {
  /** Empty directory the source fetches into; removed when the update ends. */
  stagingDir: string;
  /** The engine's per-app journal, install index and merge bases. */
  appStateDir: string;
  /** The source's change-detection metadata. */
  sourceStateDir: string;
}

export interface UpdateContext {
  readonly app: string;
  readonly source: Source;
  readonly config: AgentConfig;
  readonly ports: PipelinePorts;
  readonly releaseSource: ReleaseSource;
  readonly settings: UpdateSettings;
  readonly paths: UpdatePaths;
  readonly log: Logger;
  readonly currentVersion: string | null;
  /**
   * No install index, yet ship installed this version here (installed-release.ts
   * lastInstalledVersion): what the downgrade refusal compares with when `currentVersion` is null.
   */
  readonly lastInstalled?: { version: string; why: string };
  release?: FetchedRelease;
  manifest?: Manifest;
  /** False when the release has no manifest and its version is the source's release id. */
  versionFromManifest?: boolean;
  applied?: AppliedRelease;
  /**
   * Set by markPending once its record is written (pending-update.ts): the run got to a step that
   * may stop the app's services (the pre_update hooks on). The one place that says so: the failure
   * path runs the rollback commands and takes the record back by it. Reckoned from the step there
   * too, a run whose record could not be written ran the rollback hooks of an update whose first
   * pre_update hook never ran.
   */
  pendingMarked?: boolean;
  /**
   * No version recorded and app_dir held nothing before this update: a first install, where every
   * migration up to the release's version runs (DESIGN: current < v ≤ target, with no current),
   * not an app of unknown version installed by other means, where none does.
   */
  readonly freshInstall?: boolean;
  /** Migrations a first install left out, the installed version being unknown. */
  skippedMigrations?: string[];
  /** Migrations this run ran (migrations.ts ranMigrationName): a restore does not undo them. */
  ranMigrations?: string[];
  warnings: string[];
  /** The release manifest's own warnings (said-manifest-warnings.ts), remembered once it is installed. */
  manifestWarnings?: string[];
  /**
   * The warnings among `warnings` that speak of the files the apply wrote ("replaced …; their copies
   * are in <backup>"): true only while the update stands, so an update undone afterwards drops them.
   */
  applyWarnings?: string[];
}

/** A field an earlier step must have set; a missing one is a bug in the step order, not bad input. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline bug: ${what} is not set yet`);
  return value;
}

export function targetVersion(ctx: UpdateContext): string {
  return need(ctx.manifest, "manifest").version;
}

export function commandEnv(ctx: UpdateContext): CommandEnv {
  return {
    app: ctx.app,
    version: ctx.manifest?.version ?? "",
    // The install index gone: the version migrations run from (lastInstalled), not "" beside them.
    previousVersion: ctx.currentVersion ?? ctx.lastInstalled?.version ?? "",
    appDir: ctx.source.app_dir,
  };
}
