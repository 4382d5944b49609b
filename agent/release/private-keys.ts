/**
 * Refuses to release a private key. A release is installed on every server and, over http or sftp,
 * kept on the web server and the hub; a signing key generated inside the work tree
 * (`ship release keygen --out keys`), a deploy key or a TLS key would be spread to all of them, and
 * whoever holds ship's signing key can sign releases every agent trusts.
 *
 * What counts as a private key: a PEM block whose label ends in "PRIVATE KEY" (RFC 7468 §10-11:
 * "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"; the legacy "RSA/EC/DSA PRIVATE KEY" and OpenSSH's
 * "OPENSSH PRIVATE KEY" use the same form), an armored OpenPGP secret key ("PGP PRIVATE KEY BLOCK",
 * RFC 4880 §6.2: an apt or package signing key), an ssh.com "SSH2 ENCRYPTED PRIVATE KEY" or a PuTTY
 * key file. Key files are a few KB, so only files up to MAX_KEY_FILE_BYTES are read; a larger file is
 * not a key file.
 */
import { open } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { BadInputError } from "../../shared/errors.js";

/** Larger than any PEM private key (an RSA 16384-bit key is ~12.5 KB), small enough to read cheaply. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
const PRIVATE_KEY_MARKER =
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----|^PuTTY-User-Key-File-\d+:/m;

/** The flag that lets a named file through (a test fixture's throwaway key, say). */
export const ALLOW_PRIVATE_KEY_FLAG = "--allow-private-key";

export interface ReleaseFile {
  /** Path relative to the release root (posix), as the operator names it. */
  rel: string;
  /** Where to read it. */
  path: string;
  size: number;
}

/** Relative paths of the files that hold a private key, in the order given. */
export async function filesHoldingPrivateKeys(files: readonly ReleaseFile[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    if (file.size === 0 || file.size > MAX_KEY_FILE_BYTES) continue;
    const text = await readHead(file.path, file.size);
    if (text !== undefined && holdsPrivateKey(text)) found.push(file.rel);
  }
  return found;
}

/** Whether a file's text (read as latin1, at most MAX_KEY_FILE_BYTES) holds a private key. */
export function holdsPrivateKey(text: string): boolean {
  return PRIVATE_KEY_MARKER.test(text);
}

async function readHead(path: string, size: number): Promise<string | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return undefined; // gone or unreadable: the archive writer reports it
  try {
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead).toString("latin1");
  } finally {
    await handle.close();
  }
}

/**
 * Throws a BadInputError (exit 2) naming the first file that holds a private key and is not in
 * `allowed`; `what` says where it would go ("the archive", "the tag v1.2.0").
 */
export async function refusePrivateKeys(
  sourceDir: string,
  files: readonly ReleaseFile[],
  allowed: readonly string[],
  what: string,
  howToLeaveOut: string,
): Promise<void> {
  const allow = new Set(allowed.map((p) => allowedRel(sourceDir, p)));
  const keys = (await filesHoldingPrivateKeys(files)).filter((rel) => !allow.has(rel));
  if (keys.length === 0) return;
  const [first] = keys;
  const more = keys.length > 1 ? ` (and ${keys.length - 1} more: ${keys.slice(1, 4).join(", ")})` : "";
  throw BadInputError.single(
    join(sourceDir, first as string),
    "",
    `holds a private key${more}; it would go into ${what} and onto every server. ${howToLeaveOut}, or pass ${ALLOW_PRIVATE_KEY_FLAG} ${first} if it is meant to ship`,
  );
}

/**
 * `--allow-private-key` as the operator wrote it, as a path relative to the release root: "./a",
 * "a/" and an absolute path to the same file (what a shell completes) all name it.
 */
function allowedRel(sourceDir: string, path: string): string {
  const rel = isAbsolute(path) ? relative(sourceDir, path).split(sep).join("/") : path;
  return rel.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}
