/**
 * Which migrations an update runs: every version v with current < v ≤ target, oldest first;
 * with no current version, every v ≤ target.
 */
import type { CommandSpec } from "../../shared/manifest/schema.js";
import { compareVersions } from "../../shared/versions.js";

export interface MigrationBatch {
  version: string;
  commands: CommandSpec[];
}

export function selectMigrations(
  migrations: Record<string, CommandSpec[]>,
  current: string | null,
  target: string,
): MigrationBatch[] {
  return Object.entries(migrations)
    .filter(([v]) => (current === null || compareVersions(current, v) < 0) && compareVersions(v, target) <= 0)
    .sort(([a], [b]) => compareVersions(a, b))
    .map(([version, commands]) => ({ version, commands }));
}

/**
 * What an update's migrations had done when it failed: the versions whose commands all ran, and
 * the commands of a version's list that ran before the one that failed (`2.0.0[0]`, `2.0.0[0-1]`).
 */
export function ranMigrationName(version: string, succeeded: number, total: number): string | undefined {
  if (succeeded === 0) return undefined;
  if (succeeded === total) return version;
  return succeeded === 1 ? `${version}[0]` : `${version}[0-${succeeded - 1}]`;
}

/**
 * Said with a restored update: putting the files back leaves what the migrations changed (a
 * database's schema) as they left it, and "restored the previous version" alone read as if the
 * whole update had been undone, while the next try runs the same migrations over it again.
 */
export function ranMigrationsNote(ran: readonly string[] | undefined): string {
  if (ran === undefined || ran.length === 0) return "";
  const which = ran.length === 1 ? `migration ${ran[0]}` : `migrations ${ran.join(", ")}`;
  return `; ${which} ran before the failure: restoring the files does not undo what ${ran.length === 1 ? "it" : "they"} changed (only a rollback hook can), and the next try runs ${ran.length === 1 ? "it" : "them"} again`;
}
