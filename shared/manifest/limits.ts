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
  maxDepth: number;
}

export const HUB_MANIFEST_LIMITS: ManifestLimits = { maxBytes: 64 * 1024, maxKeys: 2000, maxDepth: 32 };

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
  if (deepIndent.test(text))
    throw BadInputError.single(file, "", `nests deeper than ${limits.maxDepth} levels`);
}

/** After parsing, before anything walks the values: key count and nesting depth. */
export function checkManifestShape(doc: Document, file: string, limits: ManifestLimits): void {
  let keys = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { node, depth } = next;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth >= limits.maxDepth)
      throw BadInputError.single(file, "", `nests deeper than ${limits.maxDepth} levels`);
    if (isMap(node)) {
      keys += node.items.length;
      if (keys > limits.maxKeys)
        throw BadInputError.single(file, "", `has more than ${limits.maxKeys} keys, the limit`);
      for (const pair of node.items) stack.push({ node: pair.value as Node | null, depth: depth + 1 });
    } else {
      for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
    }
  }
}
