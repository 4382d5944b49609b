/**
 * The one rule every source (local path, http url, sftp remote_path) finds a release's `.sig` or
 * `.sha256` by: the one beside the name configured, else the one beside each file a `latest` link
 * or redirect leads through, in order. `ship release sign` and `sha256sum` write theirs beside the
 * versioned archive (myapp-1.2.3.tar.gz.sig), never beside the link, so a release reached by its
 * link was refused as unsigned. The way is asked only when the first is absent: a release that is
 * no link costs no request more.
 */
export async function companionAlong<T>(
  beside: string,
  along: () => Promise<readonly string[]>,
  read: (place: string) => Promise<T | undefined>,
): Promise<{ place: string; found: T } | undefined> {
  const first = await read(beside);
  if (first !== undefined) return { place: beside, found: first };
  for (const place of await along()) {
    const found = await read(place);
    if (found !== undefined) return { place, found };
  }
  return undefined;
}
