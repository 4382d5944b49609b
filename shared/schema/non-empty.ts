import * as z from "zod";

/**
 * A string that must hold something. An empty one stops its checks here: `app_dir = ""` was said
 * twice for one key, "must not be empty" and then "must be an absolute path".
 */
export const nonEmptyText = (): z.ZodString => z.string().min(1, { error: "must not be empty", abort: true });
