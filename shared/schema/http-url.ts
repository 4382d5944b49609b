import * as z from "zod";

/**
 * An http:// or https:// URL, the only schemes ship fetches or posts to (undici). zod's `z.url()`
 * alone takes any scheme (`ftp:`, `file:`, `javascript:`), which then failed only at the first
 * download or notification, as exit 1 with undici's "Invalid URL protocol".
 */
export function httpUrl() {
  // zod-problems.ts words the failure, with the value given ("must be an http:// or https:// URL (got …)").
  return z.url({ protocol: /^https?$/ });
}
