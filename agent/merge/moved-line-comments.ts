/**
 * The other half of the README's promise on comments (lost-comments.ts is the first): a comment the
 * operator wrote after a value (`a = 1  # one`) that the merged file still holds, but on a line of
 * its own. A release that turns the value into a table (`[a]`) makes the renderer write it above the
 * new header; it was kept, so the safety net for lost comments, which compares texts alone, said
 * nothing, and the comment stood over a header it was never written for. Each such comment is named.
 */
import { type CommentLine, namedComment, namesComment } from "./comment-names.js";
import type { MergeFormat } from "./index.js";
import { commentLinesOf, take, tally } from "./lost-comments.js";

/**
 * One warning naming the user's end-of-line comments that the merged text holds only on lines of
 * their own, unless an earlier warning (`warnings`) named them; undefined when there are none.
 * Comments the previous release (`base`) shipped are its own and move with its change.
 */
export function movedCommentsWarning(
  format: MergeFormat,
  texts: { user: string; base?: string | undefined; merged: string },
  warnings: readonly string[],
): string | undefined {
  const mine = commentLinesOf(format, texts.user);
  const merged = commentLinesOf(format, texts.merged);
  const afterValues = tally(merged.filter((c) => afterValue(texts.merged, c)).map(lineText));
  const ownLines = tally(merged.filter((c) => !afterValue(texts.merged, c)).map(lineText));
  // The operator's own-line comments keep their own lines: only the rest of those came from after a value.
  for (const c of mine) if (!afterValue(texts.user, c)) take(ownLines, c.comment);
  const shipped = tally(texts.base === undefined ? [] : commentLinesOf(format, texts.base).map(lineText));
  const moved = mine.filter(
    (c) =>
      afterValue(texts.user, c) &&
      c.comment.trim() !== "" &&
      !take(afterValues, c.comment) &&
      !take(shipped, c.comment) &&
      !warnings.some((w) => namesComment(w, c.comment)) &&
      take(ownLines, c.comment),
  );
  if (moved.length === 0) return undefined;
  return `your comments that followed a value now stand on a line of their own (the release changed that value's form, e.g. into a table): ${moved.map(namedComment).join(", ")}`;
}

function lineText(c: CommentLine): string {
  return c.comment;
}

/** Whether something other than blanks comes before the comment on its line. */
function afterValue(text: string, c: CommentLine): boolean {
  const lineStart = text.lastIndexOf("\n", c.offset - 1) + 1;
  return text.slice(lineStart, c.offset).trim() !== "";
}
