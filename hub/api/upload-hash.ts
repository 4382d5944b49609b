/**
 * The sha256 an artifact upload must hash to: the `X-Sha256` header (what `ship release publish`
 * sends), or `?sha256=` for a client that cannot set headers. A bad one is refused before a byte of
 * the body is read, naming the one the caller gave: a wrong `?sha256=` was answered as if it were
 * the header, which the caller never sent, and a query key the route does not take was ignored.
 */
import type { IncomingHttpHeaders } from "node:http";
import * as z from "zod";
import { HubRequestError } from "../errors.js";
import { parseRequest } from "./validate.js";

const SHA256 = /^[0-9a-f]{64}$/;

// A blank value is refused by the hash check ("got \"\""): leaving it out means no check.
const UploadQuery = z.strictObject({ sha256: z.string().optional() });

/** The expected hash (lower case) and the field it came from, for the messages that name it. */
export interface ExpectedHash {
  sha256: string;
  field: "header.x-sha256" | "query.sha256";
}

function checked(value: string, field: ExpectedHash["field"]): ExpectedHash {
  const sha256 = value.trim().toLowerCase();
  if (!SHA256.test(sha256))
    throw new HubRequestError(
      400,
      `${field}: must be 64 hex digits (got ${JSON.stringify(value.slice(0, 100))})`,
    );
  return { sha256, field };
}

/** Undefined when the caller gave none (the upload is stored under whatever it hashes to). */
export function expectedUploadHash(headers: IncomingHttpHeaders, query: unknown): ExpectedHash | undefined {
  const fromQuery = parseRequest(UploadQuery, query, "query").sha256;
  const header = headers["x-sha256"];
  // Node joins a repeated header with ", ", which no hash matches: refused as given.
  const fromHeader = Array.isArray(header) ? header.join(", ") : header;
  const byHeader = fromHeader === undefined ? undefined : checked(fromHeader, "header.x-sha256");
  const byQuery = fromQuery === undefined ? undefined : checked(fromQuery, "query.sha256");
  if (byHeader && byQuery && byHeader.sha256 !== byQuery.sha256)
    throw new HubRequestError(
      400,
      `header.x-sha256 and query.sha256 differ (${byHeader.sha256} and ${byQuery.sha256}): give the artifact's sha256 once`,
    );
  return byHeader ?? byQuery;
}
