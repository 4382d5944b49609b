/**
 * lstat over a client's SFTP session: ssh2-sftp-client has it (it is what its exists() asks), but
 * its type declarations leave it out. It answers as stat does (the same stats, ENOENT for none),
 * for the link itself.
 */
import type SftpClient from "ssh2-sftp-client";

export type RemoteStat = Awaited<ReturnType<SftpClient["stat"]>>;

interface WithLstat {
  lstat(path: string): Promise<RemoteStat>;
}

function hasLstat(client: object): client is WithLstat {
  return typeof (client as Partial<WithLstat>).lstat === "function";
}

export function lstatRemote(client: SftpClient, path: string): Promise<RemoteStat> {
  if (!hasLstat(client)) throw new Error("ssh2-sftp-client offers no lstat");
  return client.lstat(path);
}
