/**
 * The reason a server gives with a refusal, when it gives one in JSON (`{"error": "…"}`, the hub's
 * form): a hub release whose artifact is gone from the hub's store was reported as "HTTP 404" alone,
 * while the hub's answer said what was missing and how to repair it. An HTML error page, or anything
 * that is not such a JSON body, says nothing more than its status. What the request carried that a
 * server may echo (`secrets`, redact.ts requestSecrets: a configured header's token, a presigned
 * URL's signature) is replaced by `***`, as everywhere a URL is shown: the reason reaches the state
 * file, notifications and the hub.
 */

import { UNPRINTABLE } from "../../shared/schema/unprintable.js";
import { textStart } from "../../shared/text-cut.js";
import { headerValue } from "./header-value.js";
import { scrubSecrets } from "./redact.js";

/** More than any one-line reason; the rest of a larger body is not read. */
const MAX_REASON_BYTES = 4096;
/** A server that sends its headers and then stalls must not hold the failure it explains. */
const REASON_WAIT_MS = 2000;
/** Longer reasons are cut: the line carries the URL and status too. */
const MAX_REASON_CHARS = 300;

export async function serverReason(
  headers: Record<string, string | string[] | undefined>,
  body: AsyncIterable<Buffer>,
  secrets: readonly string[],
): Promise<string | undefined> {
  if (!/\bjson\b/i.test(headerValue(headers, "content-type") ?? "")) return undefined;
  // An encoded body (gzip) would need decoding for a few words: the status alone is said then.
  if ((headerValue(headers, "content-encoding") ?? "identity") !== "identity") return undefined;
  const text = await firstBytes(body);
  if (text === undefined) return undefined;
  try {
    const said = (JSON.parse(text) as { error?: unknown } | null)?.error;
    if (typeof said !== "string") return undefined;
    // Scrubbed before anything is collapsed or cut, which could leave part of a secret unmatched.
    const line = scrubSecrets(said, secrets)
      .replace(new RegExp(UNPRINTABLE.source, "gu"), " ")
      .replace(/\s+/g, " ")
      .trim();
    if (line === "") return undefined;
    if (line.length <= MAX_REASON_CHARS) return line;
    return `${textStart(line, MAX_REASON_CHARS)}…`;
  } catch {
    return undefined;
  }
}

async function firstBytes(body: AsyncIterable<Buffer>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), REASON_WAIT_MS);
  });
  const read = (async () => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_REASON_BYTES) return undefined;
    }
    return Buffer.concat(chunks).toString("utf8");
  })().catch(() => undefined);
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}
