/**
 * A message, request or file checked against a schema, and its problems said in one line naming
 * each field (`message.reportId: must be a UUID …; message.app: must not be empty`): what the
 * hub's 400s, its protocol errors to agents, and an agent's word on a bad hub message or state
 * file all say, in our words (requestProblems), never zod's raw ones.
 */
import type * as z from "zod";
import { requestProblems } from "./zod-problems.js";

/** `waves[0].percent` under `root` from an issue path. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    // Under no root (a file's own keys), a path starts with its key: `waves[0]`, not `.waves[0]`.
    (acc, key) =>
      typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`,
    root,
  );
}

/** The value, or one line naming every bad field under `root` and what is wrong with it. */
export function parseOneLine<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root: string,
): { ok: true; value: z.output<S> } | { ok: false; message: string } {
  const result = requestProblems(schema, value);
  if (result.problems === undefined) return { ok: true, value: result.value };
  // One entry per field: `count: must be a whole number and must be ≤ 1000000`.
  const byField = new Map<string, string[]>();
  for (const p of result.problems) {
    const field = formatPath(root, p.path);
    const said = byField.get(field) ?? [];
    if (!said.includes(p.message)) said.push(p.message);
    byField.set(field, said);
  }
  // A problem of no field under no root (`and 4900 more problems not listed` about a file's own
  // keys) is said bare: `: and 4900 more` read as a field with no name.
  const message = [...byField]
    .map(([field, said]) => (field === "" ? said.join(" and ") : `${field}: ${said.join(" and ")}`))
    .join("; ");
  return { ok: false, message: message.replace(/[\r\n]+/g, " ") };
}
