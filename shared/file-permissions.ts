/**
 * Files whose contents decide what a run trusts (a trusted public key, a CA, known_hosts) must be
 * writable only by their owner, and owned by root or the user ship runs as, as sshd's StrictModes
 * asks of authorized_keys: whoever else can write one adds their own key or CA, and then a release
 * they signed, or a server they stand up in the middle, is trusted by an agent that runs as root.
 */
import { stat } from "node:fs/promises";

/** What a trusted key file lets in, for the message when others can write it. */
export const TRUSTED_KEY_ROLE = "a signing key of their own, and so releases they sign";

/** A mode's permission bits as `ls -l`'s octal: 644, 600. */
export function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, "0");
}

/**
 * Why `path` cannot be trusted (group- or world-writable, or owned by another user), in words, or
 * undefined when it is safe or cannot be read (reading reports that). `what` names the file's role.
 */
export async function writableByOthersProblem(path: string, what: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) return undefined;
  if ((info.mode & 0o022) !== 0)
    return `${path} is writable by other users (mode ${modeText(info.mode)}): anyone who can write it can add ${what}; chmod go-w it`;
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== 0 && info.uid !== uid)
    return `${path} is owned by another user (uid ${info.uid}), who can change it and add ${what}; chown it to root`;
  return undefined;
}

/**
 * A note when a private key or token file can be read by other users (mode & 077), or undefined:
 * anyone who reads it signs releases or acts as its owner.
 */
export async function readableByOthersNote(path: string, what: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile() || (info.mode & 0o077) === 0) return undefined;
  return `${path} is readable by other users (mode ${modeText(info.mode)}): anyone who reads it ${what}; chmod 600 it`;
}
