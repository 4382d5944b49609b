/** Bounds on what an archive may unpack to; anything beyond them is treated as hostile. */
export interface ExtractLimits {
  /** Most entries (files, directories, links) the archive may hold. */
  maxFiles?: number;
  /** Most bytes of file content in total. */
  maxBytes?: number;
  /** Largest single file in bytes. */
  maxFileBytes?: number;
  /** Most unpacked bytes per packed byte (a decompression bomb exceeds this). */
  maxRatio?: number;
  /**
   * Unpacked bytes below which the ratio is not enforced: tiny archives of text legitimately
   * compress far better than large ones, and a few MiB cannot hurt anyone.
   */
  ratioFloorBytes?: number;
}

export type ResolvedLimits = Required<ExtractLimits>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxFiles: 200_000,
  maxBytes: 8 * 1024 ** 3,
  maxFileBytes: 4 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 4 * 1024 ** 2,
};

export function resolveLimits(limits: ExtractLimits = {}): ResolvedLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof ExtractLimits, number | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}
