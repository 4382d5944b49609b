/**
 * A note the previous release shipped that the operator deleted stays deleted when the release
 * keeps it as it was. A list the release changes (an item added, dropped or moved) is written from
 * the release's text, its items' notes with it: `# note b` above `- b`, or `- b # note b`, that the
 * operator had taken out came back (README: a shipped comment you deleted does not come back with
 * the release's value), in YAML lists and TOML arrays alike.
 *
 * Comments are compared as a multiset of their texts, as lost-comments.ts does: a note is one the
 * operator deleted when their copy has fewer of it than the previous release's, and the merge wrote
 * it back when the merged text has more of it than their copy, beyond what the release itself
 * added. Which of several like notes goes back out is told by what each is on (the next line a
 * whole-line note heads, the text a trailing one ends): one on a line the operator's copy has the
 * same note on is theirs. When that cannot tell them apart nothing is taken out.
 */

import type { CommentLine } from "./comment-names.js";
import type { MergeFormat } from "./index.js";
import { commentLinesOf, take, tally } from "./lost-comments.js";

export function withoutDeletedNotes(
  format: MergeFormat,
  texts: { user: string; base: string; release: string; merged: string },
): string {
  if (format === "json") return texts.merged;
  const count = (text: string) => tally(commentLinesOf(format, text).map(({ comment }) => comment));
  const [user, base, release] = [count(texts.user), count(texts.base), count(texts.release)];
  const merged = commentLinesOf(format, texts.merged);
  const mergedCount = tally(merged.map(({ comment }) => comment));
  const cuts: CommentLine[] = [];
  for (const [comment, shipped] of base) {
    const mine = user.get(comment) ?? 0;
    if (comment.trim() === "" || mine >= shipped) continue;
    const addedByRelease = Math.max(0, (release.get(comment) ?? 0) - shipped);
    const back = Math.min(shipped - mine, (mergedCount.get(comment) ?? 0) - mine - addedByRelease);
    if (back <= 0) continue;
    const strays = straysOf(format, texts, merged, comment);
    if (strays.length === back) cuts.push(...strays);
  }
  return cuts.length === 0 ? texts.merged : cut(texts.merged, cuts);
}

/**
 * The merged text's copies of `comment` (`merged`: its comment lines) on what no copy of it in the
 * user's text is on: the ones the merge wrote, not the user's.
 */
export function straysOf(
  format: MergeFormat,
  texts: { user: string; merged: string },
  merged: readonly CommentLine[],
  comment: string,
): CommentLine[] {
  const userAnchors = tally(
    commentLinesOf(format, texts.user)
      .filter((one) => one.comment === comment)
      .map((one) => anchorOf(texts.user, one)),
  );
  return merged
    .filter((one) => one.comment === comment)
    .filter((one) => !take(userAnchors, anchorOf(texts.merged, one)));
}

/** What a comment is on: the line it ends, or, alone on its line, the next line holding more. */
function anchorOf(text: string, { offset }: CommentLine): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const before = text.slice(start, offset).trim();
  if (before !== "") return `on ${before}`;
  for (const line of text.slice(offset).split("\n").slice(1)) {
    const trimmed = line.trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) return `above ${trimmed}`;
  }
  return "at the end";
}

/** The text without the comments: a whole-line one's line, a trailing one from the spaces before it. */
export function cut(text: string, comments: readonly CommentLine[]): string {
  let out = text;
  for (const { offset } of [...comments].sort((a, b) => b.offset - a.offset)) {
    const start = out.lastIndexOf("\n", offset - 1) + 1;
    const end = out.indexOf("\n", offset);
    const lineEnd = end === -1 ? out.length : end;
    if (out.slice(start, offset).trim() === "") {
      out = out.slice(0, start) + out.slice(end === -1 ? out.length : end + 1);
    } else {
      const from = start + out.slice(start, offset).trimEnd().length;
      out = out.slice(0, from) + out.slice(lineEnd);
    }
  }
  return out;
}
