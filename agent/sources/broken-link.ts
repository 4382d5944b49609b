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

/**
 * The paths the links from `path` lead through, in order, the last the one they end at (none when
 * `path` is no link); `loop` when they come back to one (it is then the last) or pass MAX_LINKS.
 */
export async function linkTargets(
  reader: Pick<LinkReader, "readlink">,
  path: string,
): Promise<{ targets: string[]; loop: boolean }> {
  const targets: string[] = [];
  let current = path;
  for (let hop = 0; hop < MAX_LINKS; hop++) {
    const target = await reader.readlink(current).catch(() => undefined);
    if (target === undefined) return { targets, loop: false };
    const next = posix.isAbsolute(target) ? target : posix.join(posix.dirname(current), target);
    const loop = next === path || targets.includes(next);
    targets.push(next);
    if (loop) return { targets, loop };
    current = next;
  }
  return { targets, loop: true };
}

/**
 * The names of the files the links from `path` lead through: a `latest` link to
 * `myapp-1.2.3.tar.gz`, itself a link into a store (`../store/9f2c…`), is listed by a SHA256SUMS
 * under the name on the way, and only the last was matched.
 */
export async function namesAlongLinks(reader: Pick<LinkReader, "readlink">, path: string): Promise<string[]> {
  return (await linkTargets(reader, path)).targets.map((target) => posix.basename(target));
}

/** Follows the links from `path` (itself a link); undefined when they lead to something there. */
export async function brokenLink(reader: LinkReader, path: string): Promise<BrokenLink | undefined> {
  const { targets, loop } = await linkTargets(reader, path);
  if (loop) return { kind: "loop", chain: [path, ...targets] };
  const last = targets.at(-1);
  if (last === undefined) return undefined;
  return (await reader.kind(last).catch(() => undefined)) === "absent"
    ? { kind: "dangling", target: last }
    : undefined;
}

/** "is a symlink …", what a message about the link says after its name. */
export function brokenLinkText(broken: BrokenLink | undefined, absent: string): string {
  if (broken?.kind === "loop")
    return `is a symlink that leads round in a loop (${broken.chain.join(" -> ")}), never to a file: point it at the release`;
  if (broken?.kind === "dangling")
    return `is a symlink to ${broken.target}, which is ${absent} (the release it pointed at was moved or deleted?)`;
  return `is a symlink to a file that is ${absent} (the release it pointed at was moved or deleted?)`;
}
