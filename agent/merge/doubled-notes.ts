/**
 * No comment comes out of a three-way merge more often than the operator's copy holds it plus the
 * times the release added it over the previous release's copy. A comment both copies hold once (a
 * file's header, `# myapp settings`) that a key the merge writes from the release's text brings
 * along while the operator's copy keeps it elsewhere (above another key, the one they kept or the
 * one a deleted table's header moved to) was written twice. The copies beyond that count that sit
 * where the operator's copy has none of them (told by what each is on, as deleted-notes.ts does)
 * are taken out; when those are not exactly the surplus, nothing is, as nothing there tells which.
 *
 * Without the previous release's copy nothing is taken out: a comment the release repeats (a
 * `# -----` over each section) may then be the one a new section brings.
 */

import type { CommentLine } from "./comment-names.js";
import { cut, straysOf } from "./deleted-notes.js";
import type { MergeFormat } from "./index.js";
import { commentLinesOf, take, tally } from "./lost-comments.js";

export function withoutDoubledNotes(
  format: MergeFormat,
  texts: { user: string; base: string; release: string; merged: string },
): string {
  if (format === "json") return texts.merged;
  const lines = (text: string) => commentLinesOf(format, text);
  const count = (text: string) => tally(lines(text).map(({ comment }) => comment));
  const [user, base, release] = [count(texts.user), count(texts.base), count(texts.release)];
  const merged = lines(texts.merged);
  const cuts: CommentLine[] = [];
  for (const [comment, written] of tally(merged.map(({ comment }) => comment))) {
    if (comment.trim() === "") continue;
    const mine = user.get(comment) ?? 0;
    const surplus = written - mine - Math.max(0, (release.get(comment) ?? 0) - (base.get(comment) ?? 0));
    if (surplus <= 0) continue;
    const strays = straysOf(format, texts, merged, comment);
    if (strays.length === surplus) cuts.push(...strays);
    else if (strays.length > surplus) {
      // Copies on the same line (a header over the first key, in a copy of only comments the
      // operator's one is over nothing): the operator's is the one under what theirs is under.
      const under = tally(
        lines(texts.user)
          .filter((one) => one.comment === comment)
          .map((one) => lineAbove(texts.user, one)),
      );
      const theirs = strays.filter((one) => !take(under, lineAbove(texts.merged, one)));
      if (theirs.length === surplus) cuts.push(...theirs);
    }
  }
  return cuts.length === 0 ? texts.merged : cut(texts.merged, cuts);
}

/** The line above a comment that holds anything, comments included; "" at the top. */
function lineAbove(text: string, { offset }: CommentLine): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const above = text.slice(0, start).split("\n").reverse();
  return above.find((line) => line.trim() !== "")?.trim() ?? "";
}
