/**
 * The comment lines above a block list's first item (`hosts:`, then `# ops: a is primary`, then
 * `- a`) belong to the list in the yaml library, so they stayed at the top of the list whatever the
 * release did: over a new item the release put first, or over the next item when it dropped that
 * one. Those of the user's lines that the release's copy does not also begin the list with (a
 * heading both write there stays) are a note on the user's first item, and go with that item, as
 * the comment lines above a TOML `[[array]]` element do.
 */
import { isNode, isSeq, type YAMLSeq } from "yaml";

export interface FirstItemNote {
  /** The user's comment above the list, whole. */
  whole: string;
  /** The lines of it past the heading the release's copy shares ("" when there are none). */
  note: string;
  /** As the previous release shipped it: a comment of the release's in its place wins. */
  shipped: boolean;
}

/**
 * Undefined where the user wrote nothing there, or left the previous release's comment there while
 * the release writes another one at the top (a heading it rewrote, not a note on an item).
 */
export function firstItemNote(old: YAMLSeq, value: YAMLSeq, base: unknown): FirstItemNote | undefined {
  const whole = old.commentBefore;
  if (!whole) return undefined;
  const ours = whole.split("\n");
  const theirs = value.commentBefore?.split("\n") ?? [];
  let shared = 0;
  while (shared < ours.length && ours[shared] === theirs[shared]) shared++;
  const shipped = isSeq(base) && base.commentBefore === whole;
  if (shipped && shared === 0 && theirs.length > 0) return undefined;
  return { whole, note: ours.slice(shared).join("\n"), shipped };
}

/**
 * Puts the note above where the user's first item is now (`firstAt`), if it is still there.
 * `theirs` is the comment the release's copy writes above that item (the user's item may have
 * replaced the release's node, and its comment with it).
 */
export function placeFirstItemNote(
  old: YAMLSeq,
  value: YAMLSeq,
  { whole, note, shipped }: FirstItemNote,
  firstAt: number | undefined,
  theirs: string | null | undefined,
): void {
  if (note === "") return;
  if (firstAt === 0) {
    if (shipped && value.commentBefore) return;
    value.commentBefore = whole;
    value.spaceBefore = old.spaceBefore;
    return;
  }
  // A dropped first item took its note along: the check of the user's comments names it.
  const item: unknown = firstAt === undefined ? undefined : value.items[firstAt];
  if (!isNode(item)) return;
  if (shipped && theirs) {
    item.commentBefore ??= theirs;
    return;
  }
  item.commentBefore = item.commentBefore ? `${note}\n${item.commentBefore}` : note;
}
