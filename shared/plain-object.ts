/** A JSON object (not null, not an array): what a record or document must be before its keys are read. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
