import * as z from "zod";
import { isPlainObject } from "../plain-object.js";
import type { KeyPath } from "./key-path.js";

type Schema = z.core.$ZodType;

/** Wrappers that do not change which keys an object accepts. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else {
      return current;
    }
  }
}

function discriminatorMatches(option: Schema, discriminator: string, value: unknown): boolean {
  const inner = unwrap(option);
  if (!(inner instanceof z.ZodObject)) return false;
  const field = inner.shape[discriminator];
  if (field === undefined) return false;
  const literal = unwrap(field);
  if (literal instanceof z.ZodLiteral) return literal.values.has(value as z.core.util.Literal);
  if (literal instanceof z.ZodEnum) return literal.options.includes(value as string);
  return false;
}

/**
 * The schemas that may describe the value at `path` of `data`. A discriminated union narrows to
 * the options matching the data's discriminator; a plain union keeps every option.
 */
function schemasAt(root: Schema, path: KeyPath, data: unknown): Schema[] {
  let candidates = [root];
  let value = data;
  for (let depth = 0; depth <= path.length; depth++) {
    const expanded: Schema[] = [];
    for (const candidate of candidates) {
      const inner = unwrap(candidate);
      if (inner instanceof z.ZodDiscriminatedUnion) {
        const discriminator = inner._zod.def.discriminator;
        const own = isPlainObject(value) ? value[discriminator] : undefined;
        const matching = inner.options.filter((o) => discriminatorMatches(o, discriminator, own));
        expanded.push(...(matching.length > 0 ? matching : inner.options).map(unwrap));
      } else if (inner instanceof z.ZodUnion) {
        expanded.push(...inner.options.map(unwrap));
      } else {
        expanded.push(inner);
      }
    }
    if (depth === path.length) return expanded;
    const segment = path[depth];
    candidates = [];
    for (const schema of expanded) {
      if (schema instanceof z.ZodObject && typeof segment === "string") {
        const field = schema.shape[segment];
        if (field !== undefined) candidates.push(field);
      } else if (schema instanceof z.ZodRecord && typeof segment === "string") {
        candidates.push(schema.valueType);
      } else if (schema instanceof z.ZodArray && typeof segment === "number") {
        candidates.push(schema.element);
      }
    }
    value =
      isPlainObject(value) || Array.isArray(value)
        ? (value as Record<string, unknown>)[segment as string]
        : undefined;
  }
  return candidates;
}

/** The keys the object schema at `path` accepts: the candidates for a "did you mean" hint. */
export function knownKeysAt(root: Schema, path: KeyPath, data: unknown): string[] {
  const keys = new Set<string>();
  for (const schema of schemasAt(root, path, data)) {
    if (schema instanceof z.ZodObject) for (const key of Object.keys(schema.shape)) keys.add(key);
  }
  return [...keys];
}
