/**
 * The comment lines above a block list's first item (`hosts:`, then `# ops: a is primary`, then
 * `- a`) belong to the list in the yaml library, so they stayed at the top of the list whatever the
 * release did: over a new item the release put first, or over the next item when it dropped that
 * one. Those of the user's lines that the release's copy does not also begin the list with (a
 * heading both write there stays) are a note on the user's first item, and go with that item, as
 * the comment lines above a TOML `[[array]]` element do. A heading the user left as the previous
 * release shipped it is the release's to rewrite: the release's heading stays at the top, once, and
 * only the user's lines under it are the note (both headings showed, the old one over the item).
 * A comment the user left whole as shipped is the previous release's note on its first item: it
 * goes with that item too, unless the release writes its own at the top or on that item.
 */
import { isNode, isSeq, type YAMLSeq } from "yaml";

export interface FirstItemNote {
  /** The user's comment above the list, whole. */
  whole: string;
  /** The lines of it past the heading ("" when there are none). */
  note: string;
  /** What goes above the list while the user's first item stays first: heading, then note. */
  top: string;
  /** Left whole as the previous release shipped it: a comment of the release's in its place wins. */
  shipped: boolean;
}

/** How many lines `lines` begins with that `other` begins with too. */
function sharedHead(lines: string[], other: string | null | undefined): number {
  const theirs = other?.split("\n") ?? [];
  let shared = 0;
  while (shared < lines.length && lines[shared] === theirs[shared]) shared++;
  return shared;
}

/**
 * Undefined where the user wrote nothing there, or left the previous release's comment there while
 * the release writes another one at the top (a heading it rewrote, not a note on an item).
 */
export function firstItemNote(old: YAMLSeq, value: YAMLSeq, base: unknown): FirstItemNote | undefined {
  const whole = old.commentBefore;
  if (!whole) return undefined;
  const ours = whole.split("\n");
  const fromRelease = sharedHead(ours, value.commentBefore);
  const shipped = isSeq(base) ? base.commentBefore : undefined;
  if (shipped === whole) {
    // The previous release's note on its first item goes with that item, as the user left it.
    if (fromRelease === 0 && value.commentBefore) return undefined;
    return { whole, note: ours.slice(fromRelease).join("\n"), top: whole, shipped: true };
  }
  const fromBase = sharedHead(ours, shipped);
  if (shipped && fromBase > fromRelease && fromBase === shipped.split("\n").length) {
    const note = ours.slice(fromBase).join("\n");
    const top = value.commentBefore ? `${value.commentBefore}\n${note}` : note;
    return { whole, note, top, shipped: false };
  }
  return { whole, note: ours.slice(fromRelease).join("\n"), top: whole, shipped: false };
}

/**
 * Puts the note above where the user's first item is now (`firstAt`), if it is still there.
 * `theirs` is the comment the release's copy writes above that item (the user's item may have
 * replaced the release's node, and its comment with it).
 */
export function placeFirstItemNote(
  old: YAMLSeq,
  value: YAMLSeq,
  { note, top, shipped }: FirstItemNote,
  firstAt: number | undefined,
  theirs: string | null | undefined,
): void {
  if (note === "") return;
  if (firstAt === 0) {
    if (shipped && value.commentBefore) return;
    value.commentBefore = top;
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

/**
 * The release's comment above its list (`# the web one` over `- name: web`, the first item once it
 * dropped the one before) is that item's own note when the user's item, put first, brings the same
 * lines: they showed twice. They stay once, on the item. So is one the previous release wrote over
 * an item other than its first: the user's item brings the note as the user edited it, and the
 * shipped one came back above it.
 */
export function dropDoubledFirstNote(value: YAMLSeq, base: unknown): void {
  const first: unknown = value.items[0];
  const top = value.commentBefore;
  if (!top || !isNode(first) || !first.commentBefore) return;
  const note = first.commentBefore;
  const shippedOnItem =
    isSeq(base) && base.items.slice(1).some((item) => isNode(item) && item.commentBefore === top);
  if (top === note || shippedOnItem) value.commentBefore = null;
  else if (top.endsWith(`\n${note}`)) value.commentBefore = top.slice(0, -note.length - 1);
}
