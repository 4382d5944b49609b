import { type Document, isAlias, isMap, isPair, isSeq } from "yaml";
import { BadInputError } from "../errors.js";
import { sizeText } from "../size-text.js";
import { aliasTargets } from "../yaml-depth.js";

/**
 * How much manifest one request may make a server work through. Real manifests are a few KB with
 * a few hundred keys; these bounds keep the hub's event loop answering while it validates one.
 */
export interface ManifestLimits {
  maxBytes: number;
  maxKeys: number;
  /** List items in all: 64 KiB holds 30,000 (`[0,0,…]`), each parsed, validated and placed. */
  maxItems: number;
  maxDepth: number;
}

/**
 * How deep any manifest may nest, wherever it is read (the agent, `ship release`, the hub): real
 * ones nest a handful of levels. One nested thousands deep ran the YAML library's recursion out of
 * stack, and the agent said "YAML: Maximum call stack size exceeded" where the hub said this.
 */
export const MANIFEST_MAX_DEPTH = 32;

export const HUB_MANIFEST_LIMITS: ManifestLimits = {
  maxBytes: 64 * 1024,
  maxKeys: 2000,
  maxItems: 2000,
  maxDepth: MANIFEST_MAX_DEPTH,
};

/** The one refusal of a manifest nested past `maxDepth`. */
export const tooDeep = (file: string, maxDepth: number): BadInputError =>
  BadInputError.single(file, "", `nests deeper than ${maxDepth} levels`);

/** Before parsing: the size, and indentation deep enough to mean nesting past the limit. */
export function checkManifestText(text: string, file: string, limits: ManifestLimits): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxBytes)
    throw BadInputError.single(
      file,
      "",
      `is ${sizeText(bytes)}, over the limit of ${sizeText(limits.maxBytes)}`,
    );
  const deepIndent = new RegExp(`^ {${limits.maxDepth * 8},}\\S`, "m");
  if (deepIndent.test(text)) throw tooDeep(file, limits.maxDepth);
}

/** Keys and list items a node holds once toJS has expanded its aliases. */
interface Shape {
  keys: number;
  items: number;
}

/**
 * After parsing (and the depth checks, which refuse an alias cycle), before anything walks the
 * values: the key and list item counts, an alias counted as what it repeats, as toJS expands it. An
 * alias counted as one node let 990 keys name one 1,000-item anchor (17 KB, inside every limit):
 * 990,000 items that held the hub 6 s of CPU wording each, or were accepted after 1 s.
 */
export function checkManifestShape(
  doc: Document,
  file: string,
  limits: ManifestLimits,
  /**
   * Only once an alias has been met (the agent): a manifest written out in full costs what its
   * text costs, and the agent has no size limit to bound that; an alias multiplies it.
   */
  aliasesOnly = false,
): void {
  const targetOf = aliasTargets(doc);
  const shapes = new Map<unknown, Shape>();
  let aliased = false;
  const over = (what: string, limit: number) =>
    BadInputError.single(
      file,
      "",
      `has more than ${limit} ${what}, the limit${aliased ? " (an alias counts as what it repeats)" : ""}`,
    );
  // Each collection is counted once (an anchor used a thousand times costs one walk); the
  // recursion is as deep as the nesting the depth checks bounded.
  const shapeOf = (node: unknown): Shape => {
    if (isAlias(node)) {
      aliased = true;
      return shapeOf(targetOf(node));
    }
    if (!isMap(node) && !isSeq(node)) return { keys: 0, items: 0 };
    const known = shapes.get(node);
    if (known !== undefined) return known;
    const shape: Shape = isMap(node)
      ? { keys: node.items.length, items: 0 }
      : { keys: 0, items: node.items.length };
    const add = (part: Shape) => {
      shape.keys += part.keys;
      shape.items += part.items;
      if (aliasesOnly && !aliased) return;
      if (shape.keys > limits.maxKeys) throw over("keys", limits.maxKeys);
      if (shape.items > limits.maxItems) throw over("list items", limits.maxItems);
    };
    add({ keys: 0, items: 0 });
    for (const item of node.items) {
      if (isPair(item)) {
        add(shapeOf(item.key));
        add(shapeOf(item.value));
      } else add(shapeOf(item));
    }
    shapes.set(node, shape);
    return shape;
  };
  shapeOf(doc.contents);
}
