/**
 * OpenSSH known_hosts matching for the SFTP client (ssh2 leaves host key checking to us).
 * Supports `host`, `[host]:port`, comma lists, `*`/`?` wildcards, `!` negation, hashed names
 * (`|1|salt|hash`, HMAC-SHA1) and the @revoked marker; @cert-authority lines are ignored.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ServerHostKeyAlgorithm } from "ssh2";

export interface KnownHostEntry {
  marker?: "@revoked" | "@cert-authority";
  /** The comma-separated host field as written. */
  hosts: string;
  keyType: string;
  key: Buffer;
  /** The file and line (from 1) it was read from, when a file: a refusal names the line to fix. */
  at?: { file: string; line: number };
}

export type HostKeyVerdict = "match" | "unknown" | "mismatch" | "revoked";

export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0] === "@revoked" || fields[0] === "@cert-authority" ? fields.shift() : undefined;
    const [hosts, keyType, blob] = fields;
    if (hosts === undefined || keyType === undefined || blob === undefined) continue;
    entries.push({
      marker: marker as KnownHostEntry["marker"],
      hosts,
      keyType,
      key: Buffer.from(blob, "base64"),
      ...(file === undefined ? {} : { at: { file, line: index + 1 } }),
    });
  }
  return entries;
}

/**
 * OpenSSH's GlobalKnownHostsFile: ssh (and so a git source over ssh) trusts the hosts listed there
 * besides the user's known_hosts, and fleets' config management often writes it. The SFTP source
 * read only the user's file, and refused as unknown a host `sftp` and git connect to.
 */
export const GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts";

/** The entries of the system-wide known_hosts; none when it is absent or unreadable, as for ssh. */
export async function globalKnownHosts(path: string = GLOBAL_KNOWN_HOSTS): Promise<KnownHostEntry[]> {
  return parseKnownHosts(await readFile(path, "utf8").catch(() => ""), path);
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function verifyHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => e.marker !== "@cert-authority" && hostFieldMatches(e.hosts, name));
  if (forHost.some((e) => e.marker === "@revoked" && e.key.equals(key))) return "revoked";
  const trusted = forHost.filter((e) => e.marker === undefined);
  if (trusted.some((e) => e.key.equals(key))) return "match";
  return trusted.length === 0 ? "unknown" : "mismatch";
}

/**
 * The lines behind a refusal of `key`, as ssh's "Offending ED25519 key in ~/.ssh/known_hosts:3":
 * its @revoked lines; for a mismatch, the host's lines of the key's type (all the host's when none
 * is of that type). A mismatch named only the file, and the operator had to find which of its lines
 * (maybe in /etc/ssh/ssh_known_hosts instead) to check and replace. "FILE, line N", joined.
 */
export function refusedKeyLines(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
  keyType: string,
): string | undefined {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => e.marker !== "@cert-authority" && hostFieldMatches(e.hosts, name));
  const revoked = forHost.filter((e) => e.marker === "@revoked" && e.key.equals(key));
  const trusted = forHost.filter((e) => e.marker === undefined);
  const sameType = trusted.filter((e) => e.keyType === keyType);
  const lines = revoked.length > 0 ? revoked : sameType.length > 0 ? sameType : trusted;
  const places = lines.flatMap((e) => (e.at === undefined ? [] : [`${e.at.file}, line ${e.at.line}`]));
  return places.length === 0 ? undefined : [...new Set(places)].join(" and ");
}

/**
 * The key's type, the first string of its SSH wire form: a changed key is said with its type as
 * ssh says it ("the ED25519 host key"), so the operator knows which known_hosts line to replace.
 */
export function wireKeyType(key: Buffer): string {
  const length = key.length >= 4 ? key.readUInt32BE(0) : 0;
  return length > 0 && 4 + length <= key.length ? key.toString("latin1", 4, 4 + length) : "host";
}

/** The signature algorithms that prove a host key of each known_hosts key type. */
const ALGORITHMS_OF_KEY_TYPE: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
  "ssh-dss": ["ssh-dss"],
};

/** ssh2's own order (its DEFAULT_SERVER_HOST_KEY), which follows the known ones. */
const LIBRARY_ORDER: readonly ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * The host key algorithms to ask the server for (ssh2's `algorithms.serverHostKey`): those of the
 * keys known_hosts holds for this host first, as OpenSSH orders them, then the library's own; or
 * undefined (ssh2's order) when known_hosts knows no key of the host. ssh2 alone asks for ECDSA
 * before RSA whatever known_hosts says, so a server with several host keys showed its ECDSA key to
 * a host whose known_hosts holds its RSA key (`ssh-keyscan -t rsa`, a line older than the
 * server's ECDSA key), and ship called that a HOST KEY MISMATCH where `sftp` connects. A server
 * that no longer has the known key type still shows another, and the check still refuses it.
 */
export function hostKeyAlgorithms(
  entries: KnownHostEntry[],
  host: string,
  port: number,
): ServerHostKeyAlgorithm[] | undefined {
  const name = knownHostsName(host, port);
  const known = new Set<ServerHostKeyAlgorithm>();
  for (const entry of entries) {
    if (entry.marker !== undefined || !hostFieldMatches(entry.hosts, name)) continue;
    for (const algorithm of ALGORITHMS_OF_KEY_TYPE[entry.keyType] ?? []) known.add(algorithm);
  }
  if (known.size === 0) return undefined;
  return [...known, ...LIBRARY_ORDER.filter((algorithm) => !known.has(algorithm))];
}

/** "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it. */
export function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}
