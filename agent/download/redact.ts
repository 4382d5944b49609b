import { takeUrlCredentials } from "./url-credentials.js";

/**
 * URLs as they may appear in logs and reports: no user:password, no query values (presigned
 * URLs carry their signature there). Headers never appear at all.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "<invalid url>";
  }
  if (url.username !== "" || url.password !== "") {
    url.username = "***";
    url.password = "";
  }
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "***");
  return url.toString();
}

/**
 * The parts of a URL that are secrets (user, password, query values), as written and decoded, for
 * scrubbing text a URL's secrets may have reached (git quotes a remote's query in its errors).
 */
export function urlSecrets(raw: string): string[] {
  if (!URL.canParse(raw)) return [];
  const url = new URL(raw);
  const values = [url.username, url.password, ...[...url.searchParams.values()]];
  const encoded = url.search
    .slice(1)
    .split("&")
    .map((pair) => pair.slice(pair.indexOf("=") + 1));
  const all = [...values, ...values.map(safeDecode), ...encoded].filter((s) => s.length >= 3);
  // Longest first, so a secret that contains another is replaced whole.
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}

/**
 * What a request carried that a server's answer may quote back (an `{"error": "bad token …"}` echoing
 * a header, a 403 naming the presigned URL asked for): the secrets of every URL it asked for
 * (urlSecrets) and the values of the headers configured for it, with an Authorization-style value's
 * credentials alone (`Bearer T`: T) and a Basic pair's decoded user and password. The hub's bearer
 * token is one such header.
 */
export function requestSecrets(urls: readonly string[], headers: Readonly<Record<string, string>>): string[] {
  const found = urls.flatMap(urlSecrets);
  // A URL's user:password@ went as Basic auth (url-credentials.ts): its base64 is a secret too.
  const sent = urls.flatMap((url) =>
    URL.canParse(url) ? Object.values(takeUrlCredentials(url, headers).headers) : [],
  );
  for (const raw of [...Object.values(headers), ...sent]) {
    const value = raw.trim();
    found.push(value);
    const credentials = /^[A-Za-z][\w.+-]*\s+(\S.*)$/.exec(value)?.[1];
    if (credentials === undefined) continue;
    found.push(credentials);
    const basic = basicPair(credentials);
    if (basic !== undefined) found.push(basic, ...basic.split(":"));
  }
  return [...new Set(found.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
}

/** `user:password` when `credentials` is Basic auth's base64 of one, else undefined. */
function basicPair(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, "base64").toString("utf8");
  return decoded.includes(":") && Buffer.from(decoded, "utf8").toString("base64") === credentials
    ? decoded
    : undefined;
}

/**
 * A remote URL with its user:password@ and secret query values masked; a path or scp-style address
 * as is. An ssh:// URL's user is the login, no secret (ssh takes no password from a URL), and the
 * one thing to check when the server refuses the key: "ssh://***@host" hid it, while the same remote
 * written `deploy@host:app.git` showed it.
 */
export function shownRemote(url: string): string {
  if (/^ssh:\/\//i.test(url) && URL.canParse(url)) {
    const parsed = new URL(url);
    if (parsed.password === "" && parsed.search === "") return url;
  }
  return url.includes("://") ? redactUrl(url) : url;
}

/** `text` with every one of `secrets` replaced by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
