/** An sftp `remote_path` link's reader for broken-link.ts, over the client's SFTP session. */
import type { SFTPWrapper } from "ssh2";
import type SftpClient from "ssh2-sftp-client";
import type { LinkReader } from "../broken-link.js";

/** ssh2-sftp-client keeps the session it opened as `sftp`, and offers no readlink of its own. */
function sessionOf(client: SftpClient): SFTPWrapper | undefined {
  const sftp = (client as unknown as { sftp?: unknown }).sftp;
  return typeof (sftp as { readlink?: unknown } | undefined)?.readlink === "function"
    ? (sftp as SFTPWrapper)
    : undefined;
}

export function sftpLinkReader(client: SftpClient): LinkReader {
  return {
    readlink: (path) =>
      new Promise((resolve, reject) => {
        const sftp = sessionOf(client);
        if (sftp === undefined) {
          reject(new Error("no SFTP session"));
          return;
        }
        sftp.readlink(path, (error, target) => (error ? reject(error) : resolve(target)));
      }),
    kind: async (path) => {
      const found = await client.exists(path);
      return found === false ? "absent" : found === "l" ? "link" : "other";
    },
  };
}
