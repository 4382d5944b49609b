/**
 * Merged configs that were not merged at all, told apart by their WARNING: the run's summary line
 * names what became of them instead of `merged config.toml: 0 kept, 0 added, 0 updated, 0 removed`,
 * which read as a merge that found nothing to change.
 */
import type { MergeReport } from "../../shared/protocol/messages.js";
import { KEYLESS_RELEASE } from "./keyless-release.js";

/** A config ship installed that the operator deleted: the release's copy went in. */
export const DELETED_CONFIG = "it was not in the app, though ship installed it at the last update";
/** A config the operator made a symlink: neither merged nor replaced. */
export const LINKED_CONFIG = "it is a symlink (→ ";
/** A copy that does not parse under merge_strategy replace: the release's copy went in whole. */
export const UNPARSABLE_REPLACED = "your copy does not parse (";

/** The summary line's words for a config that was not merged; undefined for one that was. */
export function notMerged(m: MergeReport): string | undefined {
  const said = (prefix: string) => m.warnings.some((w) => w.startsWith(prefix));
  if (said(DELETED_CONFIG))
    return `installed ${m.file} anew: it was not in the app, so the release's copy went in, with none of your values`;
  if (said(LINKED_CONFIG))
    return `did not merge ${m.file}: it is a symlink, left as it is, and the release's copy was not installed`;
  if (said(KEYLESS_RELEASE))
    return `did not merge ${m.file}: the release's copy holds no keys, so your copy was left as it is`;
  if (said(UNPARSABLE_REPLACED))
    return `replaced ${m.file} whole: your copy did not parse, so the release's copy went in, with none of your values`;
  return undefined;
}
