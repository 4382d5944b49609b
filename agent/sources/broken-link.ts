/**
 * Where a symlink leads when the file it names cannot be opened: a link to a release since
 * deleted, or links that point at each other. Both read "no such file" (or "a symlink to a file
 * that is not on the server"), which sent the operator to look for a deleted release when the
 * link went round. Used for an sftp `remote_path` (over the SFTP session) and a local `path`.
 */
import { posix } from "node:path";

/** Links the kernel follows before ELOOP (Linux MAXSYMLINKS). */
const MAX_LINKS = 40;

export type BrokenLink = { kind: "dangling"; target: string } | { kind: "loop"; chain: string[] };

export interface LinkReader {
  /** The link's target as stored; rejects when `path` is no link or cannot be read. */
  readlink(path: string): Promise<string>;
  /** "link", "other" (a file or directory), or "absent". */
  kind(path: string): Promise<"link" | "other" | "absent">;
}

/** Follows the links from `path` (itself a link); undefined when they lead to something there. */
export async function brokenLink(reader: LinkReader, path: string): Promise<BrokenLink | undefined> {
  const chain = [path];
  let current = path;
  for (let hop = 0; hop < MAX_LINKS; hop++) {
    const target = await reader.readlink(current).catch(() => undefined);
    if (target === undefined) return undefined;
    const next = posix.isAbsolute(target) ? target : posix.join(posix.dirname(current), target);
    if (chain.includes(next)) return { kind: "loop", chain: [...chain, next] };
    chain.push(next);
    const kind = await reader.kind(next).catch(() => undefined);
    if (kind === "absent") return { kind: "dangling", target: next };
    if (kind !== "link") return undefined;
    current = next;
  }
  return { kind: "loop", chain };
}

/** "is a symlink …", what a message about the link says after its name. */
export function brokenLinkText(broken: BrokenLink | undefined, absent: string): string {
  if (broken?.kind === "loop")
    return `is a symlink that leads round in a loop (${broken.chain.join(" -> ")}), never to a file: point it at the release`;
  if (broken?.kind === "dangling")
    return `is a symlink to ${broken.target}, which is ${absent} (the release it pointed at was moved or deleted?)`;
  return `is a symlink to a file that is ${absent} (the release it pointed at was moved or deleted?)`;
}
