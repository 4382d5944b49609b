/**
 * `security` in a manifest and `[sources.NAME.security]` in ship.toml: one schema for both. A module
 * of its own so that loading ship.toml does not build the whole manifest schema (start-up time).
 */
import { z } from "zod";

export const SecurityPolicy = z.strictObject({
  verify_checksums: z.boolean().default(true),
  allowed_file_types: z.array(z.string().min(1, "must not be empty")).optional(),
  max_file_size_mb: z.number().positive().optional(),
  privileged_files: z.array(z.string().min(1, "must not be empty")).default([]),
});
export type SecurityPolicy = z.infer<typeof SecurityPolicy>;
