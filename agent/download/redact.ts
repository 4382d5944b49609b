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
