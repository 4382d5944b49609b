/**
 * Header reading on its own, without undici: errors.ts needs it, and the rollback's notifications
 * reach errors.ts, so importing it from dispatcher.ts loaded undici on every `ship --rollback`.
 */

/** A response header as one string (undici gives arrays for repeated headers). */
export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
