/**
 * A copy's values as the merge's plan compares them: each float whose literal holds more than a
 * double (exact-floats.ts) an ExactFloat. Only the plan reads these; the formats write from their
 * own texts, which keep the literals.
 */
import { isMap, isScalar } from "yaml";
import { exactFloat } from "./exact-floats.js";
import { numberSpellings, pathKey } from "./json-values.js";
import { scanToml, TomlScanError } from "./toml-scan.js";
import { isTable, setOwn, type Table } from "./values.js";
import { keyText } from "./yaml-anchors.js";
import type { ParsedYaml } from "./yaml-format.js";

type Path = readonly (string | number)[];

export function withExactFloats(
  format: "toml" | "json" | "yaml",
  copy: { value: unknown; text: string; yaml?: ParsedYaml | undefined },
): unknown {
  const literals = floatLiterals(format, copy);
  if (literals.size === 0) return copy.value;
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === "number") {
      const literal = literals.get(pathKey(path));
      return (literal === undefined ? undefined : exactFloat(literal, value)) ?? value;
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i]));
    if (!isTable(value)) return value;
    const copied: Table = {};
    for (const [key, item] of Object.entries(value)) setOwn(copied, key, walk(item, [...path, key]));
    return copied;
  };
  return walk(copy.value, []);
}

/** The literal of each number by pathKey, where the text writes more than JSON.stringify would. */
function floatLiterals(
  format: "toml" | "json" | "yaml",
  copy: { text: string; yaml?: ParsedYaml | undefined },
): Map<string, string> {
  switch (format) {
    case "json":
      return numberSpellings(copy.text);
    case "yaml":
      return copy.yaml === undefined ? new Map() : yamlLiterals(copy.yaml.doc.contents);
    case "toml":
      return tomlLiterals(copy.text);
  }
}

function yamlLiterals(root: unknown): Map<string, string> {
  const found = new Map<string, string>();
  // Aliases and `<<` merges are not followed: a value reached only through one stays a number. So
  // does one in a list, as in TOML: the user's list items are kept where they read as the release's.
  const walk = (node: unknown, path: Path) => {
    if (isScalar(node)) {
      if (typeof node.value === "number" && typeof node.source === "string")
        found.set(pathKey(path), node.source);
    } else if (isMap(node)) {
      for (const pair of node.items) walk(pair.value, [...path, keyText(pair)]);
    }
  };
  walk(root, []);
  return found;
}

function tomlLiterals(text: string): Map<string, string> {
  const found = new Map<string, string>();
  let entries: ReturnType<typeof scanToml>["entries"];
  try {
    entries = scanToml(text).entries;
  } catch (error) {
    // The merge falls back on values where its scanner cannot follow the text: so do its floats.
    if (error instanceof TomlScanError) return found;
    throw error;
  }
  // `key = value` lines only: a float inside an array or inline table stays a number.
  for (const entry of entries) {
    const literal = text.slice(entry.valueStart, entry.valueEnd);
    if (entry.path !== undefined && /^[+-]?[0-9]/.test(literal)) found.set(pathKey(entry.path), literal);
  }
  return found;
}
