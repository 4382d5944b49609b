/**
 * U+0000 in what a client sends. PostgreSQL cannot hold it in a text or JSON value, so on a hub
 * there every request naming one failed with a 500, an agent's report quoting a hook's binary
 * output was never stored (nor acked: the agent sent it again for ever) and a hello carrying one
 * never brought its agent online; SQLite stored it. No id, name, label or version holds one.
 */

/** Where the first string or key holding U+0000 is in `value` (a path for formatPath), or undefined. */
export function nulPath(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === "string") return value.includes("\0") ? path : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = nulPath(item, [...path, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\0")) return [...path, key];
    const found = nulPath(item, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every U+0000 in `value`'s strings and keys as U+FFFD, the mark of a character that could not be kept. */
export function withoutNul(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("\0", "\ufffd");
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(withoutNul);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key.replaceAll("\0", "\ufffd"), withoutNul(item)]),
  );
}
