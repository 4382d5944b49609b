/**
 * YAML numbers written as their file spells them. The yaml library keeps a parsed scalar's text in
 * `source` but writes a number from its value: 0.1000000000000000055511151231257827 came out as
 * 0.1, 1.5e300 as 1.5e+300, 0x1F as 0x1f, 1.0 built from a value as 1, an integer past 2^53
 * rounded. The number tags of numbersAsSpelled write `source` whenever it still reads as the node's
 * value; spellNumbers gives a node built from values the spelling of the same path in the user's
 * file, else in the release's (as the JSON and TOML merges do).
 */

import { type Document, isAlias, isMap, isScalar, isSeq, type Scalar, type ScalarTag, type Tags } from "yaml";
import { aliasTargets } from "../../shared/yaml-depth.js";
import { decimalOf, exactFloat } from "./exact-floats.js";
import { type AliasTarget, inheritedNode, keyText, ownPair } from "./yaml-anchors.js";

const NUMBER_TAGS: ReadonlySet<string> = new Set(["tag:yaml.org,2002:int", "tag:yaml.org,2002:float"]);

function isNumberTag(tag: Tags[number]): tag is ScalarTag {
  return typeof tag === "object" && tag.collection === undefined && NUMBER_TAGS.has(tag.tag);
}

/** For the `customTags` option: the schema's own tags, its number tags writing a scalar's source. */
export function numbersAsSpelled(tags: Tags): Tags {
  const numberTags = tags.filter(isNumberTag);
  return tags.map((tag) => {
    if (!isNumberTag(tag)) return tag;
    const { stringify } = tag;
    return {
      ...tag,
      stringify(item, ctx, onComment, onChompKeep) {
        if (spells(item, numberTags)) return item.source;
        if (stringify !== undefined) return stringify(item, ctx, onComment, onChompKeep);
        return String(item.value);
      },
    };
  });
}

/** The scalar's source is a number that reads as its value now (not a text left from before an edit). */
function spells(item: Scalar, numberTags: readonly ScalarTag[]): item is Scalar & { source: string } {
  const { source, value } = item;
  if (typeof source !== "string" || (typeof value !== "number" && typeof value !== "bigint")) return false;
  return numberTags.some((tag) => {
    if (!(tag.test instanceof RegExp) || !tag.test.test(source)) return false;
    // Read as the merge's documents are (integers as BigInt, yaml-format.ts).
    const read: unknown = tag.resolve(source, () => {}, { intAsBigInt: true });
    return Object.is(isScalar(read) ? read.value : read, value);
  });
}

/**
 * Gives each number scalar under `node` (which sits at `path`) the source text of the number at the
 * same path in the first of `from` that has the same value there: a node the merge built from
 * values is then written as the user (or the release) wrote it.
 */
export function spellNumbers(node: unknown, path: readonly string[], from: readonly Document[]): void {
  // One alias lookup per document for the whole walk: it only respells scalars, anchors stay put.
  spellNumbersFrom(
    node,
    path,
    from.map((doc) => ({ doc, targetOf: aliasTargets(doc) })),
  );
}

interface Spelled {
  doc: Document;
  targetOf: AliasTarget;
}

function spellNumbersFrom(node: unknown, path: readonly string[], from: readonly Spelled[]): void {
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value !== "number" && typeof value !== "bigint") return;
    const spelled = from.map(({ doc, targetOf }) => nodeAt(doc, path, targetOf)).filter(isSpelledNumber);
    // The same number of the same type first; else an integer given as a JS number (a caller's
    // plain value) takes an integer's spelling, and its type with it.
    // A spelling of another decimal (`1e400` for the release's `1e500`, one double) is another value.
    const own = typeof node.source === "string" ? decimalOf(node.source) : undefined;
    const same =
      spelled.find(
        (there) =>
          Object.is(there.value, value) && (own === undefined || (decimalOf(there.source) ?? own) === own),
      ) ?? spelled.find((there) => typeof value === "number" && sameInteger(there.value, value));
    if (same !== undefined) {
      node.value = same.value;
      node.source = same.source;
    }
  } else if (isMap(node)) {
    for (const pair of node.items) spellNumbersFrom(pair.value, [...path, keyText(pair)], from);
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) spellNumbersFrom(item, [...path, String(i)], from);
  }
}

function isSpelledNumber(node: unknown): node is Scalar & { source: string; value: number | bigint } {
  return (
    isScalar(node) &&
    typeof node.source === "string" &&
    (typeof node.value === "number" || typeof node.value === "bigint")
  );
}

function sameInteger(a: number | bigint, b: number): boolean {
  return typeof a === "bigint" && Number.isSafeInteger(b) && a === BigInt(b);
}

/** The node whose value the document has at `path`, through aliases and `<<` merge keys. */
function nodeAt(doc: Document, path: readonly string[], targetOf = aliasTargets(doc)): unknown {
  const resolved = (node: unknown) => (isAlias(node) ? targetOf(node) : node);
  let node: unknown = resolved(doc.contents);
  for (const key of path) {
    if (isMap(node)) node = ownPair(node, key)?.value ?? inheritedNode(targetOf, node, key);
    else if (isSeq(node) && /^\d+$/.test(key)) node = node.items[Number(key)];
    else return undefined;
    node = resolved(node);
  }
  return node;
}

/**
 * Whether two nodes, whose values read alike, write the same floats where a double cannot hold them
 * (exact-floats.ts): `- 0.1` is not the release's `- 0.10000000000000001`, so an item is not kept
 * as the user's where the release changed it. Aliases inside are not followed.
 */
export function sameExactFloats(a: unknown, b: unknown): boolean {
  const left = exactDecimals(a);
  const right = exactDecimals(b);
  return left.size === right.size && [...left].every(([at, decimal]) => right.get(at) === decimal);
}

/** A scalar's value, an ExactFloat where its literal holds more than the double (float-literals.ts). */
export function exactScalarValue(node: Scalar): unknown {
  const { value, source } = node;
  return (
    (typeof value === "number" && typeof source === "string" ? exactFloat(source, value) : undefined) ?? value
  );
}

/** The decimal of each float under `node` that a double does not hold, by its place under it. */
function exactDecimals(node: unknown, at = "", found = new Map<string, string>()): Map<string, string> {
  if (isScalar(node)) {
    const { value, source } = node;
    const exact =
      typeof value === "number" && typeof source === "string" ? exactFloat(source, value) : undefined;
    if (exact !== undefined) found.set(at, exact.decimal);
  } else if (isMap(node)) {
    for (const pair of node.items) exactDecimals(pair.value, `${at}\u0000${keyText(pair)}`, found);
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) exactDecimals(item, `${at}\u0000${i}`, found);
  }
  return found;
}

/** The node at `path` in the document (nodeAt), for the callers that compare its floats. */
export function numberNodeAt(doc: Document, path: readonly string[]): unknown {
  return nodeAt(doc, path);
}
