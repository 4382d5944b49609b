/**
 * A git clone's own config file read as text, for the remote URLs in it: a clone made with
 * `git clone https://user:TOKEN@host/…` keeps the token there. Read without a git process (a fetch
 * asks git nothing more for it); includes and insteadOf rules are not followed.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The work tree's `.git/config`, or a bare repository's `config`, with its text; undefined when neither reads. */
export async function cloneConfig(localPath: string): Promise<{ file: string; text: string } | undefined> {
  for (const file of [join(localPath, ".git", "config"), join(localPath, "config")]) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/** The `url` values of the text's `[remote "…"]` sections, of the one named `name` when given. */
export function remoteUrls(text: string, name?: string): string[] {
  const urls: string[] = [];
  let inRemote = false;
  for (const line of text.split("\n")) {
    const section = /^\s*\[\s*([^\]]*?)\s*\]/.exec(line)?.[1];
    if (section !== undefined) {
      const remote = /^remote\s+"(.*)"$/i.exec(section)?.[1];
      inRemote = remote !== undefined && (name === undefined || remote === name);
      continue;
    }
    const url = inRemote ? /^\s*url\s*=\s*"?([^"\s]+)/i.exec(line)?.[1] : undefined;
    if (url !== undefined) urls.push(url);
  }
  return urls;
}
