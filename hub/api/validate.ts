import type { z } from "zod";
import { requestProblems } from "../../shared/schema/zod-problems.js";
import { HubRequestError } from "../errors.js";

/** `waves[0].percent` from a zod issue path. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    root,
  );
}

/**
 * Validates a request part; a 400 is one line naming every bad field and what is wrong with it
 * (`body.waves[0].percent: must be <= 100 (got 150)`), in our words, never zod's bare "Invalid input".
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, root = "body"): z.output<S> {
  const result = requestProblems(schema, value);
  if (result.problems === undefined) return result.value;
  // One entry per field: `count: must be a whole number and must be ≤ 1000000`.
  const byField = new Map<string, string[]>();
  for (const p of result.problems) {
    const field = formatPath(root, p.path);
    const said = byField.get(field) ?? [];
    if (!said.includes(p.message)) said.push(p.message);
    byField.set(field, said);
  }
  const message = [...byField].map(([field, said]) => `${field}: ${said.join(" and ")}`).join("; ");
  throw new HubRequestError(400, message);
}
