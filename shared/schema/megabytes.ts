import * as z from "zod";

/**
 * The largest size limit a key takes: a tebibyte, more than any release a server installs. Unbounded,
 * `max_download_mb = 1e308` read as a limit and was none (no download is refused), which an operator
 * who meant "large" cannot tell from one that holds.
 */
export const MAX_LIMIT_MB = 1_048_576;

/**
 * The smallest: a kilobyte, so a limit is at least one byte once counted in bytes. `max_download_mb =
 * 1e-9` was taken and counted as 0 bytes: every release, however small, was refused as too large.
 */
export const MIN_LIMIT_MB = 0.001;

/** A size limit in MB (MiB, as the refusals count them), bounded both ways; the message names the bound. */
export function limitMegabytes() {
  return z
    .number()
    .positive({ abort: true })
    .min(MIN_LIMIT_MB, `must be ≥ ${MIN_LIMIT_MB} (a kilobyte: a smaller limit refuses every file)`)
    .max(MAX_LIMIT_MB, `must be ≤ ${MAX_LIMIT_MB} (1 TiB)`);
}

/**
 * The most free space a requirement may ask for: a pebibyte. `min_disk_space_mb: 1e308` was taken
 * and then failed every run's check ("need 1e+308 MB") as if the server were short of space.
 */
export const MAX_FREE_SPACE_MB = 1_073_741_824;

/** Free space in MB that a release requires: 0 (none) to MAX_FREE_SPACE_MB. */
export function freeSpaceMegabytes() {
  return z.number().nonnegative().max(MAX_FREE_SPACE_MB, `must be ≤ ${MAX_FREE_SPACE_MB} (1 PiB)`);
}
