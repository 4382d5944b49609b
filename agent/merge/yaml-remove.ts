/**
 * Taking a key out of a YAML mapping the way TOML's text edit does: the comment lines directly above
 * the key (no blank line between) go with it; comment paragraphs a blank line sets apart (a file
 * header, a section note) are not the key's and stay, as do the blank lines around them.
 *
 * The yaml library keeps a mapping's first comment on the mapping (`commentBefore` of the map, or of
 * its first key at the top level, together with any header above it), so removing the first pair
 * alone would leave that key's comment orphaned above the next key, or drop a header with the key.
 * In those strings a blank line is an empty line, and a trailing "\n" is a blank line before the key.
 */
import { isScalar, type Pair, type Scalar, type YAMLMap } from "yaml";
import { pairRemoved } from "./yaml-anchors.js";

export function removePair(
  parent: YAMLMap<unknown, unknown>,
  own: Pair<unknown, unknown>,
  /** The comment directly above the key stays, for the next key (the release writes it there). */
  passOn = false,
): void {
  const at = parent.items.indexOf(own);
  if (at < 0) return;
  const ownKey = isScalar(own.key) ? own.key : undefined;
  parent.items.splice(at, 1);
  pairRemoved(parent, own);
  const next = parent.items[at];
  const nextKey = isScalar(next?.key) ? (next.key as Scalar) : undefined;
  if (passOn && nextKey !== undefined) {
    // A comment on the mapping stays there, above what is now its first key; one on the removed key
    // goes above the next key's own, less the lines that one opens with (an operator's `# -----`
    // under a kept `# -----` header was two separators).
    const passed = ownKey?.commentBefore;
    const mine = nextKey.commentBefore;
    if (passed)
      nextKey.commentBefore = mine
        ? [withoutDoubledTail(passed, mine), mine].filter(Boolean).join("\n")
        : passed;
    else if (at === 0 && parent.commentBefore && mine)
      parent.commentBefore = withoutDoubledTail(parent.commentBefore, mine) || null;
    nextKey.spaceBefore = ownKey?.spaceBefore;
    return;
  }
  const above = commentAbove(parent, at, ownKey);
  const stays = above === undefined ? undefined : keptParagraphs(above);
  if (at === 0) {
    if (above !== undefined) parent.commentBefore = stays ?? null;
    // The blank line that set the removed key apart would open the mapping (or double the kept
    // paragraph's own): the next key takes the removed key's.
    if (nextKey !== undefined) nextKey.spaceBefore = stays === undefined ? ownKey?.spaceBefore : false;
    return;
  }
  if (stays === undefined) return;
  if (nextKey !== undefined) {
    // What stays ends with its blank line; the next key's own comment follows that.
    nextKey.commentBefore = nextKey.commentBefore ? `${stays}\n${nextKey.commentBefore}` : stays;
    nextKey.spaceBefore = ownKey?.spaceBefore ?? false;
  } else {
    const kept = stays.replace(/\n+$/, "");
    parent.comment = parent.comment ? `${kept}\n${parent.comment}` : kept;
  }
}

/** All comment lines between the previous pair (or the mapping's start) and the removed key. */
function commentAbove(
  parent: YAMLMap<unknown, unknown>,
  at: number,
  key: Scalar | undefined,
): string | undefined {
  const own = key?.commentBefore ?? undefined;
  if (at !== 0 || !parent.commentBefore) return own ?? undefined;
  if (own === undefined) return parent.commentBefore;
  return `${parent.commentBefore}${key?.spaceBefore ? "\n\n" : "\n"}${own}`;
}

/**
 * The paragraphs of `above` a blank line sets apart from the key, ending with that blank line
 * (a trailing "\n"); undefined when every line of it sits directly above the key.
 */
function keptParagraphs(above: string): string | undefined {
  const lines = above.split("\n");
  let directlyAbove = lines.length;
  while (directlyAbove > 0 && lines[directlyAbove - 1] !== "") directlyAbove--;
  if (directlyAbove === 0) return undefined;
  return lines.slice(0, directlyAbove).join("\n");
}

/** `above` less the lines closing it that `below` opens with (compared trimmed). */
function withoutDoubledTail(above: string, below: string): string {
  const lines = above.split("\n");
  const following = below.split("\n").map((line) => line.trim());
  let count = Math.min(lines.length, following.length);
  while (count > 0 && !lines.slice(lines.length - count).every((line, i) => line.trim() === following[i]))
    count--;
  return lines.slice(0, lines.length - count).join("\n");
}
