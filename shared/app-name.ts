/**
 * What an app name may be, in one place: a ship.toml source name (which is the hub's app name in
 * hub mode), the hub's `body.app`, and `ship release --app`. The name becomes part of paths
 * (`<backup_dir>/<app>/`, `<out>/<app>-<version>.tar.gz`, the archive's top folder): `..`, `.` or a
 * `/` would put them outside their directory, and a leading `-` reads as an option on a command line.
 */
import { z } from "zod";

export const MAX_APP_NAME_LENGTH = 100;
const APP_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export const APP_NAME_RULE = `1 to ${MAX_APP_NAME_LENGTH} characters: letters, digits, '.', '_' or '-', starting with a letter, digit or '_'`;

/** Why `name` is not an app name (without naming where it came from), or undefined when it is one. */
export function appNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_APP_NAME_LENGTH || !APP_NAME_PATTERN.test(name)) return `must be ${APP_NAME_RULE}`;
  return undefined;
}

export const AppName = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_APP_NAME_LENGTH, `must be ${APP_NAME_RULE}`)
  .regex(APP_NAME_PATTERN, `must be ${APP_NAME_RULE}`);
