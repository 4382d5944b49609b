import * as z from "zod";

/**
 * A string that must hold something: a path, a name, a command, a key. An empty one stops its
 * checks here (`app_dir = ""` was said twice for one key, "must not be empty" and then "must be an
 * absolute path"), and so does one of white space alone: sh ran a blank command as nothing, exit 0,
 * and ship.toml's `state_file = " "` or `[general.logging] file = " "` was taken as a file named by
 * a space beside ship.toml, `username = " "` sent to the server as is.
 */
export const nonEmptyText = (): z.ZodString =>
  z
    .string()
    .min(1, { error: "must not be empty", abort: true })
    .regex(/\S/, { error: "must not be blank (only white space)", abort: true });
