/**
 * A read stream of a remote file whose handle's late close cannot end ship. ssh2 closes the handle
 * as the stream ends or is destroyed, and the answer comes after the reader is done: when the
 * reader then ended the session at once (a checksum file read and refused: no line for the
 * release, a login page), that close failed with "No response from server" as an 'error' event
 * no one listened for, and ship died with a stack trace, its lock left behind and the run
 * unrecorded. The reader still sees every error of the read itself (for await, pipeline).
 */
import type SftpClient from "ssh2-sftp-client";

type ReadOptions = Parameters<SftpClient["createReadStream"]>[1];
type RemoteReadStream = ReturnType<SftpClient["createReadStream"]>;

export function remoteReadStream(client: SftpClient, path: string, options?: ReadOptions): RemoteReadStream {
  const stream = client.createReadStream(path, options);
  // Only the close that follows the reader matters here: the server drops the handle with the session.
  stream.on("error", () => {});
  return stream;
}
