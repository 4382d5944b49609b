/**
 * Keys of one YAML mapping that read alike as values (`1` and `'1'`, `true` and `'true'`): YAML
 * holds them apart, but the merge works on values where they are one key holding the last one's
 * value. A file rebuilt from values therefore keeps one of them; the others' values go, and the
 * rebuild's warning must name them rather than say every value was kept.
 */
import { type Document, isMap, isNode, isScalar, isSeq, type Node, type Pair } from "yaml";
import { keyName, sameValue } from "./values.js";
import { jsKeyOf, withKeyNames } from "./yaml-anchors.js";

/** The key as the file writes it, quotes included, which is what tells `1` from `'1'`. */
function spelling(key: unknown): string {
  if (!isScalar(key)) return String(key);
  const text = key.source ?? String(key.value);
  if (key.type === "QUOTE_SINGLE") return `'${text}'`;
  if (key.type === "QUOTE_DOUBLE") return JSON.stringify(text);
  return text;
}

/** Each key that lost to a later one reading alike: `1 (beside '1')`, `db: true (beside "true")`. */
export function alikeKeysThatGo(doc: Document): string[] {
  return [...shadowedKeys(doc).values()].map((key) => key.name);
}

interface Shadowed {
  name: string;
  value: unknown;
}

/** The keys a later key reading alike hides, by mapping and spelling, with their values. */
function shadowedKeys(doc: Document): Map<string, Shadowed> {
  const found = new Map<string, Shadowed>();
  const walk = (node: unknown, path: string[]): void => {
    if (isSeq(node)) for (const [i, item] of node.items.entries()) walk(item, [...path, String(i)]);
    if (!isMap(node)) return;
    const last = new Map<string, Pair>();
    for (const pair of node.items as Pair<unknown, Node>[]) last.set(jsKeyOf(pair.key), pair);
    for (const pair of node.items as Pair<unknown, Node>[]) {
      const key = jsKeyOf(pair.key);
      const winner = last.get(key);
      if (winner !== undefined && winner !== pair) {
        const where = path.length === 0 ? "" : `${keyName(path)}: `;
        const node = pair.value;
        const value = isNode(node) ? withKeyNames(doc, () => node.toJS(doc)) : node;
        found.set(JSON.stringify([...path, spelling(pair.key)]), {
          name: `${where}${spelling(pair.key)} (beside ${spelling(winner.key)})`,
          value,
        });
      }
      walk(pair.value, [...path, key]);
    }
  };
  walk(doc.contents, []);
  return found;
}

/**
 * A key hidden by a later one reading alike (`1:` before `1.0:`) is no key to the merge: a release
 * that changed its value was not merged and not reported, nor was a change of the user's. Named
 * where the release's copy, or the user's, differs there from the previous release's (or, without
 * it, from each other). `userSeen`: the user's copy is the one ship wrote at the last merge, which
 * named the user's changes then; only the release's are new (else every update named them again).
 */
export function unseenAlikeChanges(
  user: Document,
  release: Document,
  base?: Document,
  userSeen = false,
): string | undefined {
  const mine = shadowedKeys(user);
  const theirs = shadowedKeys(release);
  const before = base === undefined ? undefined : shadowedKeys(base);
  const names = new Set<string>();
  for (const [id, key] of theirs) {
    const old = (before ?? mine).get(id);
    if (old === undefined || !sameValue(old.value, key.value)) names.add(key.name);
  }
  for (const [id, key] of userSeen ? [] : mine) {
    const old = (before ?? theirs).get(id);
    if (old === undefined ? before !== undefined : !sameValue(old.value, key.value)) names.add(key.name);
  }
  if (names.size === 0) return undefined;
  return `keys that read alike in one mapping are one key to the merge, the last one, so changes to the others are neither merged nor reported: ${[...names].join(", ")}; give them distinct names`;
}
