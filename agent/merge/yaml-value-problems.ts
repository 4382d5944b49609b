/**
 * A YAML document can parse and still have no value: an alias used before (or without) its anchor,
 * or a merge key (`<<`) whose value is not a mapping. The yaml library finds these only when it
 * builds the values, and throws a bare Error with no position; the merge would then stop with exit 1
 * and no file named. This finds the node, so the refusal names file:line:column like any parse error.
 */
import { type Document, isAlias, isMap, isPair, isSeq, type Node, visit } from "yaml";
import { aliasTargets } from "../../shared/yaml-depth.js";
import { isMergePair } from "./yaml-anchors.js";

export interface ValueProblem {
  offset: number;
  message: string;
}

export function yamlValueProblem(doc: Document): ValueProblem | undefined {
  let found: ValueProblem | undefined;
  // One walk for every alias: resolve() walks the document for each (16,000 took minutes).
  const targetOf = aliasTargets(doc);
  const resolved = (node: unknown): unknown => (isAlias(node) ? targetOf(node) : node);
  visit(doc, {
    Alias(_key, alias) {
      if (targetOf(alias) !== undefined) return undefined;
      found = {
        offset: alias.range?.[0] ?? 0,
        message: `the alias *${alias.source} has no anchor &${alias.source} before it`,
      };
      return visit.BREAK;
    },
    Pair(_key, pair) {
      if (!isPair(pair) || !isMergePair(pair)) return undefined;
      const value = resolved(pair.value);
      const written: unknown[] = isSeq(value) ? value.items : [pair.value];
      // An alias without its anchor is named as such, by the Alias visitor.
      if (written.some((node) => isAlias(node) && resolved(node) === undefined)) return undefined;
      if (written.map(resolved).every((source) => isMap(source))) return undefined;
      const at = (pair.value as Node | null)?.range?.[0] ?? (pair.key as Node | null)?.range?.[0] ?? 0;
      found = {
        offset: at,
        message: "a merge key (<<) takes a mapping, an alias of one (*name) or a list of those",
      };
      return visit.BREAK;
    },
  });
  return found;
}
