/**
 * What both stores refuse before they migrate, so neither writes where it must not: a schema a newer
 * hub migrated (this one would misread tables it does not know), and another application's tables.
 */

/** Tables every hub schema has had since its first migration. */
export const FIRST_TABLES = ["tokens", "agents", "rollouts"];

/** The database was migrated by a newer hub: this one would misread tables it does not know. */
export class SchemaTooNew extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`database schema ${found} is newer than this hub (${known}); upgrade the hub`);
    this.name = "SchemaTooNew";
  }
}

/**
 * The database holds tables that are not a hub's: another application's. The hub created its
 * fourteen tables beside them (exit 0), or failed on a name they share ("relation "tokens" already
 * exists", exit 1), or read another tool's `schema_version` as its own.
 */
export class NotHubDatabase extends Error {
  constructor(readonly tables: string[]) {
    super(`the database holds tables that are not ship-hub's: ${tables.join(", ")}`);
    this.name = "NotHubDatabase";
  }
}

/** The first five of another application's tables, and how many more, for a one-line refusal. */
export function shownTables(tables: string[]): string {
  const more = tables.length > 5 ? ` and ${tables.length - 5} more` : "";
  return `${tables.slice(0, 5).join(", ")}${more}`;
}
