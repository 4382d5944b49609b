import { type Document, isMap, isSeq, type Node } from "yaml";
import { BadInputError } from "../errors.js";
import { sizeText } from "../size-text.js";

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

/** After parsing (and the depth check), before anything walks the values: the key and list item counts. */
export function checkManifestShape(doc: Document, file: string, limits: ManifestLimits): void {
  let keys = 0;
  let items = 0;
  const stack: unknown[] = [doc.contents];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isMap(node)) {
      keys += node.items.length;
      if (keys > limits.maxKeys)
        throw BadInputError.single(file, "", `has more than ${limits.maxKeys} keys, the limit`);
      for (const pair of node.items) stack.push(pair.value as Node | null);
    } else if (isSeq(node)) {
      items += node.items.length;
      if (items > limits.maxItems)
        throw BadInputError.single(file, "", `has more than ${limits.maxItems} list items, the limit`);
      for (const item of node.items) stack.push(item);
    }
  }
}
