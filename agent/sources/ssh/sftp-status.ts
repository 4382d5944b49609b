/**
 * What an SFTP server answered about a file, in words naming the key that points at it. The
 * server's "no such file" and "permission denied" are no network fault a retry fixes: the key (or
 * the file's mode on the server) is wrong, so they are bad input (exit 2). Before, a file the
 * login user may not read read "_xstat: Permission denied /srv/releases/app.tar.gz" (the library's
 * internal call) or a bare "Permission denied", exit 1.
 */
import { BadInputError } from "../../../shared/errors.js";

/** Where a remote path came from (ship.toml and its key, or a hub release's field). */
export interface RemotePathOrigin {
  file: string;
  key: string;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7); ssh2-sftp-client maps 2 to "ENOENT". */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** The server's refusal of `where` as bad input naming `origin`, or undefined for any other error. */
export function remoteFileError(
  error: unknown,
  where: string,
  username: string,
  origin: RemotePathOrigin,
): BadInputError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === NO_SUCH_FILE)
    return BadInputError.single(origin.file, origin.key, `${where} is not on the server (no such file)`);
  if (code === PERMISSION_DENIED)
    return BadInputError.single(
      origin.file,
      origin.key,
      `${where}: permission denied on the server (the user ${username} may not read it or its directory)`,
    );
  return undefined;
}

/** Runs `work` on the server, turning its refusal of `where` into remoteFileError's message. */
export async function onServer<T>(
  work: () => Promise<T>,
  where: string,
  username: string,
  origin: RemotePathOrigin,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw remoteFileError(error, where, username, origin) ?? error;
  }
}
