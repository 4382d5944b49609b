import type { HubConfig } from "../config/schema.js";
import type { DatabaseSource } from "../store/open-database.js";

export const DATABASE_URL_ENV = "SHIP_HUB_DATABASE_URL";

/**
 * The PostgreSQL URL a hub command was given, and where it came from (flag, then environment,
 * then hub.toml), so an error can name the place the user has to change. With one, `serve` and
 * `token create|revoke|list` use that database instead of the data dir's SQLite file.
 */
export function databaseUrlOf(
  flag: string | undefined,
  config: HubConfig,
  configFile: string | undefined,
): DatabaseSource | undefined {
  if (flag) return { url: flag, file: "--database-url", key: "" };
  const env = process.env[DATABASE_URL_ENV];
  if (env) return { url: env, file: DATABASE_URL_ENV, key: "" };
  if (config.database_url)
    return { url: config.database_url, file: configFile ?? "hub.toml", key: "database_url" };
  return undefined;
}
