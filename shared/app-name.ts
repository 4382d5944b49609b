/**
 * What an app name may be, in one place: a ship.toml source name (which is the hub's app name in
 * hub mode), the hub's `body.app`, and `ship release --app`. The name becomes part of paths
 * (`<backup_dir>/<app>/`, `<out>/<app>-<version>.tar.gz`, the archive's top folder): `..`, `.` or a
 * `/` would put them outside their directory, and a leading `-` reads as an option on a command line.
 */
import { nameRule } from "./schema/name-rule.js";

/** The longest app name: ship.toml's source names and the hub's `body.app` alike. */
export const MAX_APP_NAME = 100;

const rule = nameRule(
  MAX_APP_NAME,
  /^[A-Za-z0-9_][A-Za-z0-9._-]*$/,
  "letters, digits, '.', '_' or '-', starting with a letter, digit or '_'",
);

/** Why `name` is not an app name (without naming where it came from), or undefined when it is one. */
export const appNameProblem = rule.problem;

export const AppName = rule.schema;
