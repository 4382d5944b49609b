import { BadInputError } from "../../shared/errors.js";
import { DATABASE_URL_SCHEME, databaseUrlProblem, type HubConfig } from "../config/schema.js";
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
  // Given but empty or not a PostgreSQL URL is a mistake to name, not a quiet fall back to SQLite.
  if (flag !== undefined) return checked(flag, "--database-url");
  const env = process.env[DATABASE_URL_ENV];
  // An empty variable reads as unset, as shells and systemd's Environment= use it.
  if (env) return checked(env, DATABASE_URL_ENV);
  if (config.database_url)
    return { url: config.database_url, file: configFile ?? "hub.toml", key: "database_url" };
  return undefined;
}

/** The URL itself is never echoed: it may carry a password. */
function checked(url: string, file: string): DatabaseSource {
  const problem = url === "" ? `is empty: ${DATABASE_URL_SCHEME}` : databaseUrlProblem(url);
  if (problem !== undefined)
    throw BadInputError.single(
      file,
      "",
      problem === DATABASE_URL_SCHEME ? `is not accepted: ${problem}` : problem,
    );
  return { url, file, key: "" };
}

/**
 * A warning when `--database-url` carries a password: a command line is readable by every local
 * user (`ps`, /proc/PID/cmdline) for as long as the process runs, which for `serve` is its life.
 */
export function passwordOnCommandLine(flag: string | undefined): string | undefined {
  if (flag === undefined || !URL.canParse(flag)) return undefined;
  const url = new URL(flag);
  if (url.password === "" && !url.searchParams.has("password")) return undefined;
  return `--database-url holds a password, which every local user can read in the process list (ps) while ship-hub runs; set ${DATABASE_URL_ENV} or hub.toml database_url (chmod 600) instead`;
}
