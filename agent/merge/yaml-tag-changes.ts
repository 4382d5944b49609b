/**
 * A YAML tag the parser does not know (`!Ref`, `!Sub`, `!vault`) is read as a plain string, so the
 * values of `ref: !Ref MyBucket` and `ref: MyBucket` are equal, though CloudFormation reads one as
 * a reference and the other as a name: a release that added or dropped such a tag was no change to
 * the merge (the operator's file kept the old tag, exit 0, nothing reported), and an operator's own
 * tag (`!vault` on a password) was a value the release's next change overwrote. Here such a tag is
 * part of the value, for a value under keys (a list is one value, as everywhere in a merge).
 */
import { type Document, isMap, isNode, type Node } from "yaml";
import type { MergePlan } from "./plan.js";
import { keyName } from "./values.js";
import { isMergePair, keyText, ownPair } from "./yaml-anchors.js";

/** A custom tag; YAML's own (`!!str`, `!!binary`) are none: they change no meaning a value has not. */
function custom(tag: string | undefined): string | undefined {
  return tag?.startsWith("tag:yaml.org,2002:") ? undefined : tag;
}

/** The custom tag of the value at `path` (undefined where there is none, or no such key). */
export function customTagAt(doc: Document, path: readonly string[]): string | undefined {
  let node: unknown = doc.contents;
  for (const key of path) node = isMap(node) ? ownPair(node, key)?.value : undefined;
  return isNode(node) ? custom((node as Node).tag) : undefined;
}

/** The custom tag of each value reached through mappings, by path. */
function customTags(doc: Document): Map<string, { path: string[]; tag: string | undefined }> {
  const found = new Map<string, { path: string[]; tag: string | undefined }>();
  const walk = (node: unknown, path: string[]): void => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      if (isMergePair(pair)) continue;
      const at = [...path, keyText(pair)];
      const tag = isNode(pair.value) ? (pair.value as Node).tag : undefined;
      found.set(JSON.stringify(at), {
        path: at,
        tag: tag?.startsWith("tag:yaml.org,2002:") ? undefined : tag,
      });
      walk(pair.value, at);
    }
  };
  walk(doc.contents, []);
  return found;
}

/**
 * The plan with tag changes counted: the release's new tag on a value whose tag the user left as
 * the previous release shipped it is taken (an edit, `updated`); the user's own tag on a value the
 * release changes keeps the user's value (`kept`). Under `replace` the release's tag wins.
 */
export function withTagChanges(
  plan: MergePlan,
  docs: { user: Document; release: Document; base: Document | undefined },
  replace: boolean,
): MergePlan {
  if (!replace && docs.base === undefined) return plan;
  const user = customTags(docs.user);
  const base = docs.base === undefined ? undefined : customTags(docs.base);
  const edits = [...plan.edits];
  const kept = [...plan.kept];
  const updated = [...plan.updated];
  const editAt = (id: string) => edits.findIndex((e) => JSON.stringify(e.path) === id);
  for (const [id, theirs] of customTags(docs.release)) {
    const mine = user.get(id);
    if (mine === undefined || mine.tag === theirs.tag) continue;
    const name = keyName(theirs.path);
    const was = base?.get(id);
    if (replace || (was !== undefined && mine.tag === was.tag)) {
      if (editAt(id) === -1 && !kept.includes(name)) {
        edits.push({ kind: "set", path: theirs.path });
        updated.push(name);
      }
    } else if (was !== undefined && theirs.tag === was.tag && editAt(id) !== -1) {
      edits.splice(editAt(id), 1);
      updated.splice(updated.indexOf(name), 1);
      kept.push(name);
    }
  }
  return { ...plan, edits, kept, updated };
}
