import type * as z from "zod";
import { parseOneLine } from "../../shared/schema/one-line.js";
import { HubRequestError } from "../errors.js";
import { nulRefusal } from "./nul-refusal.js";

export { formatPath } from "../../shared/schema/one-line.js";

/**
 * Validates a request part; a 400 is one line naming every bad field and what is wrong with it
 * (`query.limit: must be ≤ 1000 (got 5000)`), in our words, never zod's bare "Invalid input".
 * `check` (throwing a HubRequestError) runs on what the schema took before the NUL refusal, so a
 * field with a check of its own (a manifest's "is not text: at 2:16…") keeps its own words.
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root = "body",
  check?: (taken: z.output<S>) => void,
): z.output<S> {
  const result = parseOneLine(schema, value, root);
  if (!result.ok) throw new HubRequestError(400, result.message);
  check?.(result.value);
  const nul = nulRefusal(result.value, root);
  if (nul !== undefined) throw new HubRequestError(400, nul);
  return result.value;
}

/**
 * A body an endpoint may go without (`POST /rollouts/:id/pause`): only a request that sends none is
 * read as `{}`. A JSON `null`, string, number or boolean is a body, and not a mapping: refused as
 * `[1]` is, before the route acts on what it would have taken for no body.
 */
export function parseOptionalBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return parseRequest(schema, body === undefined ? {} : body);
}
