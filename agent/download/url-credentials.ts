/**
 * `https://user:password@host/…` in a configured URL: undici sends no userinfo (and no
 * Authorization for it), so the server saw an anonymous request and ship then said the URL "needs
 * credentials". The user and password become Basic auth for that URL's own origin, alongside the
 * headers the operator configured for it (which win: an Authorization header set there is kept).
 */

export interface UrlWithCredentials {
  /** The URL without its userinfo: what goes on the wire and into redirect resolution. */
  url: string;
  /** The configured headers, plus Authorization from the userinfo when they have none. */
  headers: Record<string, string>;
}

export function takeUrlCredentials(
  url: string,
  headers: Readonly<Record<string, string>>,
): UrlWithCredentials {
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return { url, headers: { ...headers } };
  const basic = Buffer.from(`${decoded(parsed.username)}:${decoded(parsed.password)}`, "utf8").toString(
    "base64",
  );
  parsed.username = "";
  parsed.password = "";
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === "authorization");
  return {
    url: parsed.toString(),
    headers: hasAuthorization ? { ...headers } : { ...headers, authorization: `Basic ${basic}` },
  };
}

/** The URL keeps userinfo percent-encoded; a stray `%` that encodes nothing is taken as written. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
