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
