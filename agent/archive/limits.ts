import { sizeText } from "../../shared/size-text.js";

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
  /** The operator's setting behind maxFileBytes (mbSetting), named when a file is refused by it. */
  maxFileSetting?: string;
}

export type ResolvedLimits = Required<Omit<ExtractLimits, "maxFileSetting">> &
  Pick<ExtractLimits, "maxFileSetting">;

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxFiles: 200_000,
  maxBytes: 8 * 1024 ** 3,
  maxFileBytes: 4 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 4 * 1024 ** 2,
};

export function resolveLimits(limits: ExtractLimits = {}): ResolvedLimits {
  const out = { ...DEFAULT_LIMITS };
  const { maxFileSetting, ...sizes } = limits;
  for (const [key, value] of Object.entries(sizes) as [keyof typeof sizes, number | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
  return maxFileSetting === undefined ? out : { ...out, maxFileSetting };
}

const MB = 1024 * 1024;

/**
 * The setting an operator wrote in MB, as a refusal names it (`[sources.app.security]
 * max_file_size_mb = 50`): the key to change, in the unit it is written in.
 */
export function mbSetting(key: string, mb: number): string {
  return `${key} = ${mb}`;
}

/**
 * Why `size` bytes are refused by a limit of `limit` bytes: in MB beside the operator's setting when
 * one set it (1 MB = 1,048,576 bytes, as every `_mb` key means it), else in ship's own terms.
 */
export function overLimit(size: number, limit: number, setting?: string): string {
  if (setting === undefined) return `${sizeText(size)} is over the limit of ${sizeText(limit)}`;
  let mb = (size / MB).toFixed(size >= 100 * MB ? 1 : 2);
  // Rounded, a size just over the limit would read as equal to it.
  if (Number(mb) <= limit / MB) mb = `${mb} MB (${size} bytes)`;
  else mb = `${mb} MB`;
  return `${mb} is over ${setting}`;
}
