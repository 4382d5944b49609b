import { BadInputError } from "../../shared/errors.js";
import type { HubConfig } from "../config/schema.js";

export const DATABASE_URL_ENV = "SHIP_HUB_DATABASE_URL";

/**
 * The PostgreSQL URL a hub command was given, and where it came from (flag, then environment,
 * then hub.toml), so an error can name the place the user has to change.
 */
export function databaseUrlOf(
  flag: string | undefined,
  config: HubConfig,
  configFile: string | undefined,
): { url: string; file: string; key: string } | undefined {
  if (flag) return { url: flag, file: "--database-url", key: "" };
  const env = process.env[DATABASE_URL_ENV];
  if (env) return { url: env, file: DATABASE_URL_ENV, key: "" };
  if (config.database_url)
    return { url: config.database_url, file: configFile ?? "hub.toml", key: "database_url" };
  return undefined;
}

/**
 * The store interface for several hubs exists (docs/cluster.md) but no hub command runs on it
 * yet. Refusing the URL beats ignoring it: a cluster whose hubs each opened their own SQLite file
 * would look healthy and silently split the fleet.
 */
export function refusePostgresMode(source: { file: string; key: string } | undefined): void {
  if (!source) return;
  throw BadInputError.single(
    source.file,
    source.key,
    "PostgreSQL mode is not wired to the hub yet (see docs/cluster.md); remove it to use the embedded SQLite database",
  );
}
