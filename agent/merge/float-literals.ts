/**
 * A copy's values as the merge's plan compares them: each float whose literal holds more than a
 * double (exact-floats.ts) an ExactFloat. JSON and YAML: only the plan reads these, the formats write
 * from their own texts, which keep the literals; TOML reads them so (readTomlValues).
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import { aliasTargets } from "../../shared/yaml-depth.js";
import { exactFloat } from "./exact-floats.js";
import { numberSpellings, pathKey } from "./json-values.js";
import { isTable, keysOf, setOwn, type Table } from "./values.js";
import { type AliasTarget, isMergePair, keyText, mergeSources } from "./yaml-anchors.js";
import type { ParsedYaml } from "./yaml-format.js";

type Path = readonly (string | number)[];

export function withExactFloats(
  format: "toml" | "json" | "yaml",
  copy: { value: unknown; text: string; yaml?: ParsedYaml | undefined },
): unknown {
  // TOML's reader gives them already (toml-value-text.ts): its own edits compare them too.
  if (format === "toml") return copy.value;
  return withLiterals(copy.value, floatLiterals(format, copy));
}

/** `value` with each number whose literal (by pathKey) holds more than its double an ExactFloat. */
export function withLiterals(value: unknown, literals: ReadonlyMap<string, string>): unknown {
  if (literals.size === 0) return value;
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === "number") {
      const literal = literals.get(pathKey(path));
      return (literal === undefined ? undefined : exactFloat(literal, value)) ?? value;
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i]));
    if (!isTable(value)) return value;
    const copied: Table = {};
    for (const key of keysOf(value)) setOwn(copied, key, walk(value[key], [...path, key]));
    return copied;
  };
  return walk(value, []);
}

/** The literal of each number by pathKey, where the text writes more than a double holds (JSON: more than JSON.stringify would). */
function floatLiterals(
  format: "json" | "yaml",
  copy: { text: string; yaml?: ParsedYaml | undefined },
): Map<string, string> {
  if (format === "json") return numberSpellings(copy.text);
  return copy.yaml === undefined ? new Map() : yamlLiterals(copy.yaml.doc);
}

/**
 * YAML's literals wherever a value sits: in lists, and where it is reached through an alias or a
 * `<<` merge key (at the path the values give it, as the merge reads them).
 */
function yamlLiterals(doc: Document): Map<string, string> {
  const found = new Map<string, string>();
  // Aliases repeat a node at each place that names it; a budget keeps a file of nested aliases
  // (a "billion laughs") from costing more than its values did to read.
  let budget = 1_000_000;
  const targetOf = aliasTargets(doc);
  const walk = (node: unknown, path: Path, ancestors: ReadonlySet<unknown>) => {
    if (budget-- <= 0) return;
    const resolved = isAlias(node) ? targetOf(node) : node;
    if (resolved === undefined || ancestors.has(resolved)) return;
    if (isScalar(resolved)) {
      const { value, source } = resolved;
      if (typeof value === "number" && typeof source === "string" && exactFloat(source, value) !== undefined)
        found.set(pathKey(path), source);
      return;
    }
    const inside = new Set(ancestors).add(resolved);
    if (isSeq(resolved)) for (const [i, item] of resolved.items.entries()) walk(item, [...path, i], inside);
    else if (isMap(resolved)) {
      for (const [key, value] of effectivePairs(targetOf, resolved)) walk(value, [...path, key], inside);
    }
  };
  walk(doc.contents, [], new Set());
  return found;
}

/** A mapping's keys and value nodes as its values hold them: its own, then what `<<` gives it. */
function effectivePairs(
  targetOf: AliasTarget,
  map: YAMLMap<unknown, unknown>,
  seen = new Set<unknown>(),
): Map<string, unknown> {
  const pairs = new Map<string, unknown>();
  if (seen.has(map)) return pairs;
  seen.add(map);
  for (const pair of map.items) if (!isMergePair(pair)) pairs.set(keyText(pair), pair.value);
  for (const resolved of mergeSources(targetOf, map))
    for (const [key, value] of effectivePairs(targetOf, resolved, seen))
      if (!pairs.has(key)) pairs.set(key, value);
  return pairs;
}
