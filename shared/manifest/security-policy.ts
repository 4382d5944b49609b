/**
 * `security` in a manifest and `[sources.NAME.security]` in ship.toml: one schema for both. A module
 * of its own so that loading ship.toml does not build the whole manifest schema (start-up time).
 */
import * as z from "zod";
import { limitMegabytes } from "../schema/megabytes.js";
import { nonEmptyText } from "../schema/non-empty.js";
import { relativePatternProblem } from "../schema/path-pattern.js";

const nonEmpty = nonEmptyText();

/**
 * A privileged_files entry that names nothing in the app (`/opt/myapp/run.sh`, `../x`) would leave the
 * file it meant handled like any other: refused instead, as a `files` pattern is.
 */
const relativePattern = nonEmpty.superRefine((pattern, ctx) => {
  const problem = relativePatternProblem(pattern);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

export const SecurityPolicy = z.strictObject({
  verify_checksums: z.boolean().default(true),
  allowed_file_types: z.array(nonEmpty).optional(),
  max_file_size_mb: limitMegabytes().optional(),
  privileged_files: z.array(relativePattern).default([]),
});
export type SecurityPolicy = z.infer<typeof SecurityPolicy>;
