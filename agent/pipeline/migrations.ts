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
