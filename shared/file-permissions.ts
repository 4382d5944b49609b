/**
 * Files whose contents decide what a run trusts (a trusted public key, a CA, known_hosts) must be
 * writable only by their owner, and owned by root or the user ship runs as, as sshd's StrictModes
 * asks of authorized_keys: whoever else can write one adds their own key or CA, and then a release
 * they signed, or a server they stand up in the middle, is trusted by an agent that runs as root.
 * The directories on the way to it count too: whoever can write one can put another file in its place.
 *
 * Files that hold a secret follow what the tools operators know do. A private key others can read
 * is refused, as OpenSSH refuses one ("UNPROTECTED PRIVATE KEY FILE"). A token, a passphrase or a
 * config file holding credentials gets a warning: refusing would stop running installs at the upgrade.
 */
import { realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** What a trusted key file lets in, for the message when others can write it. */
export const TRUSTED_KEY_ROLE = "a signing key of their own, and so releases they sign";

/** A mode's permission bits as `ls -l`'s octal: 644, 600. */
export function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, "0");
}

const STICKY = 0o1000;

/**
 * Why `path` cannot be trusted (group- or world-writable, or owned by another user; or a directory
 * on the way to it is, without the sticky bit /tmp has), in words, or undefined when it is safe or
 * cannot be read (reading reports that). `what` names the file's role.
 */
export async function writableByOthersProblem(path: string, what: string): Promise<string | undefined> {
  const info = statOrUndefined(path);
  if (info === undefined || !info.isFile()) return undefined;
  if ((info.mode & 0o022) !== 0)
    return `${path} is writable by other users (mode ${modeText(info.mode)}): anyone who can write it can add ${what}; chmod go-w it`;
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== 0 && info.uid !== uid)
    return `${path} is owned by another user (uid ${info.uid}), who can change it and add ${what}; chown it to root`;
  return directoryProblem(path, what, uid);
}

/** The first directory above `path` (as named, and where its links lead) that others can change. */
async function directoryProblem(
  path: string,
  what: string,
  uid: number | undefined,
): Promise<string | undefined> {
  const real = realpathOrUndefined(path);
  const dirs = new Set([...ancestors(resolve(path)), ...(real === undefined ? [] : ancestors(real))]);
  for (const dir of dirs) {
    const info = statOrUndefined(dir);
    if (info === undefined) continue;
    if ((info.mode & 0o022) !== 0 && (info.mode & STICKY) === 0)
      return `${path} is in ${dir}, which other users can write (mode ${modeText(info.mode)}): anyone who can write it can replace the file and add ${what}; chmod go-w ${dir}`;
    if (uid !== undefined && info.uid !== 0 && info.uid !== uid)
      return `${path} is in ${dir}, owned by another user (uid ${info.uid}), who can replace the file and add ${what}; chown ${dir} to root`;
  }
  return undefined;
}

/**
 * Synchronous look-ups: one per directory above a file, on every command's start (ship.toml's own
 * check), where each awaited call was a round trip through libuv's thread pool.
 */
function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

function ancestors(path: string): string[] {
  const dirs: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    dirs.push(dir);
    if (dirname(dir) === dir) return dirs;
  }
}

/**
 * A note when a private key or token file can be read by other users (mode & 077), or undefined:
 * anyone who reads it signs releases or acts as its owner.
 */
export async function readableByOthersNote(path: string, what: string): Promise<string | undefined> {
  const info = statOrUndefined(path);
  if (info === undefined || !info.isFile() || (info.mode & 0o077) === 0) return undefined;
  return `${path} is readable by other users (mode ${modeText(info.mode)}): anyone who reads it ${what}; chmod 600 it`;
}

/** What an SSH private key others can read lets them do, for readableByOthersNote. */
export const SSH_KEY_ROLE = "logs in as this source's user (OpenSSH refuses such a key too)";
