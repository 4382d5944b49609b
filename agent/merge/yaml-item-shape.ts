/**
 * A mapping item of a list the release changes (a Kubernetes container whose image it bumps, an env
 * entry whose value it changes) took the release's text whole, so every comment the operator wrote
 * inside it went (named in a WARNING) and their quoting went with no word, although most of its
 * keys kept their values. Such an item is now the operator's item edited to the release's values,
 * as a mapping outside a list is: keys that keep their value stay as written, a changed value keeps
 * the comment on its line, keys the release drops go and keys it adds come after the operator's.
 */
import { isMap, isScalar, isSeq, type Pair, type YAMLMap, type YAMLSeq } from "yaml";
import { pairElements } from "./toml-element-pairing.js";
import { childOf, sameValue } from "./values.js";
import { jsKeyOf } from "./yaml-anchors.js";
import { sameExactFloats } from "./yaml-numbers.js";
import { putShippedComments, type ShippedComments, shippedBetween } from "./yaml-shipped-comments.js";
import { shippedItems } from "./yaml-shipped-items.js";

/** A copy of the release's `theirs` for the user's `own`, in the user's style (yaml-format.ts). */
export type ReplaceInStyle = (
  own: unknown,
  theirs: unknown,
  ownValue: unknown,
  theirValue: unknown,
) => unknown;

/**
 * In the release's list `value`, each mapping item that no item of the user's `old` list equals is
 * replaced by the user's item it is (paired as `[[array]]` elements are, toml-element-pairing.ts:
 * by a key naming one item each on both sides — `name`, `id`, `key`, or another such as `module` or
 * `path` —, else by place in lists of one length, else by likeness) holding the release's values,
 * where the user's holds comments. `taken` holds the indexes of the release's items already the user's.
 * Returns, for each user's item paired so, the index of the release's item it became, edited or the
 * release's own: the note above the list's first item (held on the list, yaml-first-item-note.ts)
 * goes there, also where it was that item's only comment.
 */
export function shapeChangedItems(
  old: YAMLSeq,
  value: YAMLSeq,
  values: {
    old: unknown[];
    value: unknown[];
    taken: ReadonlySet<number>;
    free: ReadonlySet<number>;
    commented: (item: YAMLMap | YAMLSeq) => boolean;
    /** The previous release's list, in a three-way merge: which of the user's comments are as shipped. */
    base?: unknown;
  },
  replace: ReplaceInStyle,
): Map<number, number> {
  const paired = new Map<number, number>();
  const { pairs, id } = pairElements(values.old, values.value);
  value.items.forEach((item, index) => {
    const at = pairs[index];
    if (values.taken.has(index) || at === undefined || !values.free.has(at)) return;
    const mine = old.items[at];
    if ((isMap(item) && isMap(mine)) || (isSeq(item) && isSeq(mine))) paired.set(at, index);
    // A list item that is a list (`- - a   # first`): the user's items it still holds keep their
    // comments, as in a list under a key; it took the release's text whole, the comments named gone.
    if (isSeq(item) && isSeq(mine) && values.commented(mine)) {
      value.items[index] = replace(mine, item, values.old[at], values.value[index]) as YAMLSeq;
      return;
    }
    if (!isMap(item)) return;
    // One without comments of the user's has nothing the release's text would lose but quoting,
    // and the release's text brings the release's new comments.
    if (!isMap(mine) || !values.commented(mine)) return;
    const theirs = values.value[index];
    const was = baseItem(values.base, theirs, at, id);
    const edited = inUserShape(mine, item, values.old[at], theirs, replace, was);
    if (edited !== undefined) value.items[index] = edited;
  });
  return paired;
}

/** The user's mapping holding the release's values; undefined where it cannot be read key by key. */
function inUserShape(
  mine: YAMLMap,
  theirs: YAMLMap,
  mineValue: unknown,
  theirValue: unknown,
  replace: ReplaceInStyle,
  base?: YAMLMap,
): YAMLMap | undefined {
  const mineKeys = mine.items.map((pair) => keyOf(pair));
  const theirKeys = theirs.items.map((pair) => keyOf(pair));
  // A merge key (`<<`) or a key that is not a plain scalar: its values are not the pair's own.
  if ([...mineKeys, ...theirKeys].some((key) => key === undefined || key === "<<")) return undefined;
  const shaped = mine.clone() as YAMLMap;
  shaped.items = [];
  mine.items.forEach((pair, at) => {
    const key = mineKeys[at] as string;
    const their = theirs.items[theirKeys.indexOf(key)];
    if (their === undefined) return;
    const kept = pair.clone() as Pair;
    const was = childOf(mineValue, key);
    const now = childOf(theirValue, key);
    let shipped: ShippedComments = {};
    if (!sameValue(was, now) || !sameExactFloats(pair.value, their.value)) {
      // The release's notes on the key it changes, where the user's are still the shipped ones.
      const previous = base?.items.find((p) => keyOf(p) === key);
      const place = (map: YAMLMap, p: Pair | undefined) => (p === undefined ? undefined : { map, pair: p });
      shipped =
        base === undefined
          ? {}
          : shippedBetween({ map: mine, pair }, place(theirs, their), place(base, previous));
      // A mapping in it is edited the same way, in the user's style (flow or block).
      const nested = isMap(pair.value) && isMap(their.value);
      kept.value =
        (nested
          ? inUserShape(pair.value as YAMLMap, their.value as YAMLMap, was, now, replace)
          : undefined) ?? replace(pair.value, their.value, was, now);
    }
    shaped.items.push(kept);
    putShippedComments({ map: shaped, pair: kept }, shipped);
  });
  theirs.items.forEach((pair, at) => {
    if (!mineKeys.includes(theirKeys[at])) shaped.items.push(pair.clone() as Pair);
  });
  return shaped;
}

/** The previous release's item of the same identity (`id`), else at the user's item's place. */
function baseItem(
  base: unknown,
  theirs: unknown,
  place: number,
  id: string | undefined,
): YAMLMap | undefined {
  if (!isSeq(base)) return undefined;
  const found = id === undefined ? base.items[place] : shippedItems(base)?.named(id, childOf(theirs, id));
  return isMap(found) ? found : undefined;
}

function keyOf(pair: Pair): string | undefined {
  return isScalar(pair.key) ? jsKeyOf(pair.key) : undefined;
}
