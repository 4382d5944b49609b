import type { z } from "zod";
import { HubRequestError } from "../errors.js";

/** `waves[0].percent` from a zod issue path. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    root,
  );
}

/** Validates a request part; a 400 names every bad field: `body.waves[0].percent: must be ≤ 100`. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, root = "body"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues.map((i) => `${formatPath(root, i.path)}: ${i.message}`).join("; ");
  throw new HubRequestError(400, message);
}
