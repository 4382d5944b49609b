/** Key-coverage helpers: a fixture "using every key" must name every property its schema has. */

/** Every property name declared anywhere in a JSON Schema. */
export function schemaPropertyNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const n of node) schemaPropertyNames(n, out);
  } else if (typeof node === "object" && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "properties" && typeof v === "object" && v !== null)
        for (const p of Object.keys(v)) out.add(p);
      schemaPropertyNames(v, out);
    }
  }
  return out;
}

/** Every key used anywhere in parsed document data. */
export function documentKeys(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const n of node) documentKeys(n, out);
  } else if (typeof node === "object" && node !== null && !(node instanceof Date)) {
    for (const [k, v] of Object.entries(node)) {
      out.add(k);
      documentKeys(v, out);
    }
  }
  return out;
}

/** Schema property names the document never uses (empty when it covers them all). */
export function unusedSchemaKeys(jsonSchema: unknown, data: unknown): string[] {
  const used = documentKeys(data);
  return [...schemaPropertyNames(jsonSchema)].filter((name) => !used.has(name));
}
