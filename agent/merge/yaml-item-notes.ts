/**
 * The notes on a YAML list item the release keeps: the user's, unless one is still as the previous
 * release shipped it and the release writes another there; then the release's, as a key whose note
 * the release rewrote gets it (yaml-shipped-comments.ts).
 */
import { isMap, isNode, isSeq, type Node } from "yaml";
import { isMergePair, keyText } from "./yaml-anchors.js";

/**
 * A note on a list item the release keeps, above it (`commentBefore`) or after it on its line
 * (`comment`): the user's, unless it is still the previous release's (left as shipped) and the
 * release writes another there; then the release's. The user's stale one was kept over it, in
 * either place.
 */
export function rewrittenNote(
  mine: Node,
  theirs: unknown,
  shipped: Node | undefined,
  place: "commentBefore" | "comment",
): string | null | undefined {
  const their = isNode(theirs) ? theirs[place] : undefined;
  const asShipped = shipped !== undefined && mine[place] && mine[place] === shipped[place];
  return asShipped && their && their !== mine[place] ? their : mine[place];
}

/**
 * The same for the note after a mapping or list item the release keeps whole (`kept`, the user's
 * item copied) and every note inside it: the yaml library hangs the note after `- name: a  # old` on the value `a`, and one
 * above a later key on that key, not on the item, so the stale note stayed there. The release's
 * item and the previous release's hold the same values, so each key is found by name, each item by
 * place.
 */
export function rewrittenNotesInside(kept: unknown, theirs: unknown, shipped: unknown): void {
  // After the item (`- {name: a}  # old`), where a block item holds the lines closing it.
  noteOn(kept, theirs, shipped, "comment");
  const stack: [unknown, unknown, unknown][] = [[kept, theirs, shipped]];
  while (stack.length > 0) {
    const [mine, their, was] = stack.pop() as [unknown, unknown, unknown];
    if (isMap(mine) && isMap(their) && isMap(was)) {
      for (const pair of mine.items) {
        if (isMergePair(pair)) continue;
        const name = keyText(pair);
        const [t, w] = [their, was].map((map) =>
          map.items.find((p) => !isMergePair(p) && keyText(p) === name),
        );
        if (t === undefined || w === undefined) continue;
        noteOn(pair.key, t.key, w.key, "commentBefore");
        noteOn(pair.value, t.value, w.value, "commentBefore");
        noteOn(pair.value, t.value, w.value, "comment");
        stack.push([pair.value, t.value, w.value]);
      }
    } else if (isSeq(mine) && isSeq(their) && isSeq(was)) {
      mine.items.forEach((item, i) => {
        noteOn(item, their.items[i], was.items[i], "commentBefore");
        noteOn(item, their.items[i], was.items[i], "comment");
        stack.push([item, their.items[i], was.items[i]]);
      });
    }
  }
}

/** One note of a node inside a kept item, by rewrittenNote. */
function noteOn(mine: unknown, theirs: unknown, shipped: unknown, place: "commentBefore" | "comment"): void {
  if (isNode(mine) && isNode(shipped)) mine[place] = rewrittenNote(mine, theirs, shipped, place);
}
