/**
 * The safety net behind the README's promise that whatever a merge could not keep of the file's
 * form is a WARNING: the user's own comments that are not in the merged text. The renderers name
 * the comments they know they drop (inside a value the release replaced whole, yaml-format.ts and
 * toml-format.ts); this finds the rest whatever the cause, e.g. the comments above and beside a key
 * the release removed, which went with the key and were said nowhere.
 *
 * "The user's own" = in the server copy but not in the previous release's copy (`base`): a comment
 * the release itself shipped and then dropped is the release's change, not a loss. Comments are
 * compared as a multiset of their texts, so moving one is not a loss and dropping one of two equal
 * ones is. JSON has no comments.
 */
import { type CommentLine, namedComment, namesComment } from "./comment-names.js";
import type { MergeFormat } from "./index.js";
import { REWRITE_WARNING } from "./toml-format.js";
import { tomlCommentLines } from "./toml-scan.js";
import { yamlCommentLines } from "./yaml-comment-lines.js";
import { REBUILD_WARNING_START } from "./yaml-format.js";

/** The text of each comment after its `#`, trailing spaces dropped; [] for JSON. */
export function commentsOf(format: MergeFormat, text: string): string[] {
  return commentLinesOf(format, text).map(({ comment }) => comment);
}

/** Each comment of `text` with its line; [] for JSON. */
export function commentLinesOf(format: MergeFormat, text: string): CommentLine[] {
  if (format === "toml") return tomlCommentLines(text);
  return format === "json" ? [] : yamlCommentLines(text);
}

/**
 * One warning naming the user's comments missing from `merged` that no earlier warning named
 * (`warnings`: the renderers' own), with the keys the merge removed when there were any (a removed
 * key takes the comments above and beside it along); undefined when nothing of the user's was lost.
 */
export function lostCommentsWarning(
  format: MergeFormat,
  texts: { user: string; base?: string | undefined; merged: string },
  warnings: readonly string[],
  removed: readonly string[],
  /** The release's text replaced the user's whole (replace): every comment went with it, not with a key. */
  replacedWhole = false,
): string | undefined {
  // A file rewritten from values already says that every comment went.
  if (
    format === "json" ||
    warnings.includes(REWRITE_WARNING) ||
    warnings.some((w) => w.startsWith(REBUILD_WARNING_START))
  )
    return undefined;
  const remaining = tally(commentsOf(format, texts.merged));
  const shipped = tally(texts.base === undefined ? [] : commentsOf(format, texts.base));
  const lost: string[] = [];
  for (const one of commentLinesOf(format, texts.user)) {
    const { comment } = one;
    if (take(remaining, comment) || take(shipped, comment)) continue;
    if (comment.trim() === "") continue; // a bare `#` line carries nothing to lose
    if (warnings.some((w) => namesComment(w, comment))) continue;
    lost.push(namedComment(one));
  }
  if (lost.length === 0) return undefined;
  const shown = lost.join(", ");
  if (replacedWhole)
    return `your comments are not in the merged file (the release's copy replaced yours whole, as merge_strategy replace does): ${shown}`;
  return removed.length > 0
    ? `your comments went with the keys the merge removed (${removed.join(", ")}): ${shown}`
    : `your comments are not in the merged file (they went with values the merge replaced): ${shown}`;
}

/** How many times each item occurs. */
export function tally(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Takes one `item` from `counts`; false when there is none left. */
export function take(counts: Map<string, number>, item: string): boolean {
  const n = counts.get(item) ?? 0;
  if (n === 0) return false;
  counts.set(item, n - 1);
  return true;
}
