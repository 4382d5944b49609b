/**
 * The release's comments on a key whose value it changes, where the user's are still the previous
 * release's: a release bumping `port: 80` to `8080` with `# 8080: no root needed` above it (or after
 * it) brought the new value and left the old note, now wrong, in the user's file. The note comes
 * with the value, as a new key's comments do; a comment the user wrote or edited stays theirs.
 */
import { type Document, isMap, isScalar, type Pair, type YAMLMap } from "yaml";
import { ABSENT, valueAt } from "./values.js";
import { isMergePair, keyText } from "./yaml-anchors.js";
import { keyLineNoteOf } from "./yaml-key-line-comment.js";

export interface Place {
  map: YAMLMap<unknown, unknown>;
  pair: Pair<unknown, unknown>;
}

/**
 * The mapping that writes the key at `path` itself (not through `<<` or an alias), and its pair, in
 * a document the merge does not edit (the release's, the previous release's): each mapping's keys
 * are indexed once, so a merge of many changes in a big mapping stays linear.
 */
export function placeOf(doc: Document, path: readonly string[]): Place | undefined {
  let node: unknown = doc.contents;
  for (const key of path.slice(0, -1)) {
    if (!isMap(node)) return undefined;
    node = pairsOf(node).get(key)?.value;
  }
  if (!isMap(node)) return undefined;
  const pair = pairsOf(node).get(path[path.length - 1] as string);
  return pair === undefined ? undefined : { map: node, pair };
}

const indexed = new WeakMap<YAMLMap<unknown, unknown>, Map<string, Pair<unknown, unknown>>>();

/** A mapping's own pairs by key, the first of keys that read alike winning, as ownPair() finds them. */
function pairsOf(map: YAMLMap<unknown, unknown>): Map<string, Pair<unknown, unknown>> {
  let pairs = indexed.get(map);
  if (pairs === undefined) {
    pairs = new Map();
    for (const pair of map.items) {
      const key = keyText(pair);
      if (!isMergePair(pair) && !pairs.has(key)) pairs.set(key, pair);
    }
    indexed.set(map, pairs);
  }
  return pairs;
}

/**
 * The lines above a key: on its key node, or, for a mapping's first key, on the mapping (where the
 * parser puts them when the mapping is a key's value).
 */
function above({ map, pair }: Place): { text: string; onMap: boolean } {
  const key = isScalar(pair.key) ? pair.key.commentBefore : undefined;
  if (key) return { text: key, onMap: false };
  const first = map.items[0] === pair && map.commentBefore ? map.commentBefore : "";
  // The mapping's key-line comment (`p:  # c`) is its key's, above no key of it.
  const text = keyLineNoteOf(map) === undefined ? first : first.split("\n").slice(1).join("\n");
  return { text, onMap: text !== "" };
}

/** The comment after a one-line scalar value. */
function after({ pair }: Place): string | undefined {
  return isScalar(pair.value) && pair.value.type !== "BLOCK_FOLDED" && pair.value.type !== "BLOCK_LITERAL"
    ? (pair.value.comment ?? "")
    : undefined;
}

/** The release's comments to put on the user's key once its value is the release's. */
export interface ShippedComments {
  above?: string;
  after?: string;
}

/**
 * Read before the edit: the release's comment above the key, and after its value, each where the
 * user's equals the previous release's and the release's differs; and "" after the value where the
 * user deleted the comment the previous release shipped there.
 */
export function shippedComments(
  mine: Place,
  path: readonly string[],
  release: Document,
  base: Document,
): ShippedComments {
  return shippedBetween(mine, placeOf(release, path), placeOf(base, path));
}

/** The same for a key found in each copy by the caller (a key of a list item, found by its name). */
export function shippedBetween(
  mine: Place,
  theirs: Place | undefined,
  was: Place | undefined,
): ShippedComments {
  if (theirs === undefined || was === undefined) return {};
  const [own, shipped, previous] = [above(mine), above(theirs), above(was)];
  const [ownAfter, shippedAfter, previousAfter] = [after(mine), after(theirs), after(was)];
  // A release without a comment there takes none away: only a note of its own replaces the old one.
  const takesAbove = own.text === previous.text && shipped.text !== own.text && shipped.text !== "";
  const takesAfter =
    ownAfter !== undefined && ownAfter === previousAfter && shippedAfter && shippedAfter !== ownAfter;
  // The user deleted the shipped comment after the value: the release's copy of it does not come back.
  const keepsDeletion = ownAfter === "" && previousAfter !== undefined && previousAfter !== "";
  const afterText = takesAfter ? shippedAfter : keepsDeletion ? "" : undefined;
  return {
    ...(takesAbove ? { above: shipped.text } : {}),
    ...(afterText === undefined ? {} : { after: afterText }),
  };
}

/** Puts them on the user's key (`mine` read before the edit, its value now the release's). */
export function putShippedComments(mine: Place, shipped: ShippedComments): void {
  if (shipped.above !== undefined) {
    const keyLine = mine.map.items[0] === mine.pair ? keyLineNoteOf(mine.map) : undefined;
    if (above(mine).onMap || keyLine !== undefined)
      mine.map.commentBefore = keyLine === undefined ? shipped.above : `${keyLine}\n${shipped.above}`;
    else if (isScalar(mine.pair.key)) mine.pair.key.commentBefore = shipped.above;
  }
  if (shipped.after !== undefined && isScalar(mine.pair.value))
    mine.pair.value.comment = shipped.after === "" ? null : shipped.after;
}

/**
 * A key the release adds right under the comment that was another key's (a file's header glued to
 * its first key, `# the port` over `port`) holds that comment in the release's text, while the
 * user's copy keeps it above its key: copied along, the file held it twice. It is that other key's
 * when the earlier copy (the previous release's, else the user's) has it above a key of the same
 * mapping that the release still holds without it; one whose key the release dropped or renamed
 * moved with the new key, and comes, unless the merge keeps that key (a value the user changed) with
 * the user's comment lines above it beginning with it: the file then held it above both (a header
 * glued to the first key, `# myapp` over `# the database` over `db:`, came again over `database:`).
 */
export function takesOthersComment(
  path: readonly string[],
  release: Document,
  earlier: Document,
  kept: { user: Document; merged: unknown },
): boolean {
  const key = placeOf(release, path)?.pair.key;
  const text = isScalar(key) ? key.commentBefore : undefined;
  if (!text) return false;
  const parent = path.slice(0, -1);
  if (keptUnder(kept, parent, release, text)) return true;
  const map = parent.length === 0 ? earlier.contents : placeOf(earlier, parent)?.pair.value;
  if (!isMap(map)) return false;
  for (const [key, pair] of pairsOf(map)) {
    if (above({ map, pair }).text !== text) continue;
    const now = placeOf(release, [...parent, key]);
    if (now !== undefined && above(now).text !== text) return true;
  }
  return false;
}

/**
 * A key of the user's mapping at `parent` that the release dropped and the merge keeps, with the
 * user's comment lines above it beginning with `text`.
 */
function keptUnder(
  kept: { user: Document; merged: unknown },
  parent: readonly string[],
  release: Document,
  text: string,
): boolean {
  const map = parent.length === 0 ? kept.user.contents : placeOf(kept.user, parent)?.pair.value;
  if (!isMap(map)) return false;
  return keptComments(map, parent, release, kept.merged).some(
    (mine) => mine === text || mine.startsWith(`${text}\n`),
  );
}

/**
 * The comments above the keys of the user's `map` that the release dropped and the merge keeps:
 * found once per mapping (the user's copy is parsed anew for each merge), not once per new key, so
 * a release adding many keys to a big mapping does not read it again for each.
 */
const keptCommentsOf = new WeakMap<YAMLMap<unknown, unknown>, string[]>();

function keptComments(
  map: YAMLMap<unknown, unknown>,
  parent: readonly string[],
  release: Document,
  merged: unknown,
): string[] {
  const known = keptCommentsOf.get(map);
  if (known !== undefined) return known;
  const found: string[] = [];
  for (const [key, pair] of pairsOf(map)) {
    const path = [...parent, key];
    const mine = above({ map, pair }).text;
    if (mine !== "" && placeOf(release, path) === undefined && valueAt(merged, path) !== ABSENT)
      found.push(mine);
  }
  keptCommentsOf.set(map, found);
  return found;
}

/**
 * The mirror case: a key the release removes from under a comment that the release now writes above
 * the key that followed it (a header glued to a first key the release dropped). That comment stays,
 * for the next key, above any comment the user's copy writes on it: it went with the removed key,
 * and the file lost a header the release still has. The release's comment there is the removed
 * key's followed by the next key's own (the user's, or the previous release's that the user
 * edited), so a separator the release dropped with the key (`# -----`, which the next key still
 * has above it) is not written twice.
 */
export function passesCommentOn(
  mine: Place,
  path: readonly string[],
  release: Document,
  base: Document | undefined,
): boolean {
  const next = mine.map.items[mine.map.items.indexOf(mine.pair) + 1];
  const text = above(mine).text;
  if (next === undefined || !text || !isScalar(next.key)) return false;
  const nextPath = [...path.slice(0, -1), keyText(next)];
  const theirs = placeOf(release, nextPath);
  if (theirs === undefined) return false;
  const shipped = above(theirs).text;
  const was = base === undefined ? undefined : placeOf(base, nextPath);
  const owns = [next.key.commentBefore ?? "", ...(was === undefined ? [] : [above(was).text])];
  return owns.some((own) => shipped === (own === "" ? text : `${text}\n${own}`));
}
