/**
 * Where a `remote_path` symlink leads when the file it names cannot be opened: a link to a release
 * since deleted, or links that point at each other. Both read "a symlink to a file that is not on
 * the server", which sent the operator to look for a deleted release when the link went round.
 */
import { posix } from "node:path";
import type { SFTPWrapper } from "ssh2";
import type SftpClient from "ssh2-sftp-client";

/** Links the kernel follows before ELOOP (Linux MAXSYMLINKS). */
const MAX_LINKS = 40;

export type BrokenLink = { kind: "dangling"; target: string } | { kind: "loop"; chain: string[] };

/** ssh2-sftp-client keeps the session it opened as `sftp`, and offers no readlink of its own. */
function sessionOf(client: SftpClient): SFTPWrapper | undefined {
  const sftp = (client as unknown as { sftp?: unknown }).sftp;
  return typeof (sftp as { readlink?: unknown } | undefined)?.readlink === "function"
    ? (sftp as SFTPWrapper)
    : undefined;
}

function readlink(sftp: SFTPWrapper, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sftp.readlink(path, (error, target) => (error ? reject(error) : resolve(target)));
  });
}

/** Follows the links from `path` (itself a link); undefined when the server will not say. */
export async function brokenLink(client: SftpClient, path: string): Promise<BrokenLink | undefined> {
  const sftp = sessionOf(client);
  if (sftp === undefined) return undefined;
  const chain = [path];
  let current = path;
  for (let hop = 0; hop < MAX_LINKS; hop++) {
    const target = await readlink(sftp, current).catch(() => undefined);
    if (target === undefined) return undefined;
    const next = posix.isAbsolute(target) ? target : posix.join(posix.dirname(current), target);
    if (chain.includes(next)) return { kind: "loop", chain: [...chain, next] };
    chain.push(next);
    const kind = await client.exists(next).catch(() => undefined);
    if (kind === false) return { kind: "dangling", target: next };
    if (kind !== "l") return undefined;
    current = next;
  }
  return { kind: "loop", chain };
}
