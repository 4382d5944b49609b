/**
 * OpenSSH known_hosts matching for uploads from CI: the server's key must already be listed for
 * the host (plain, `[host]:port`, or hashed `|1|salt|hmac` entries). Unknown hosts are refused,
 * never accepted on first use: a CI job cannot ask a person whether a fingerprint is right.
 */
import { createHmac } from "node:crypto";

interface KnownHost {
  marker?: "@revoked" | "@cert-authority";
  patterns: string;
  keyType: string;
  key: string;
}

function parseLine(line: string): KnownHost | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields.length === 0 || fields[0] === "" || fields[0]?.startsWith("#")) return undefined;
  const marker = fields[0]?.startsWith("@") ? (fields.shift() as KnownHost["marker"]) : undefined;
  const [patterns, keyType, key] = fields;
  if (patterns === undefined || keyType === undefined || key === undefined) return undefined;
  return { marker, patterns, keyType, key };
}

/** How OpenSSH names a host in known_hosts: bare on port 22, `[host]:port` otherwise. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split("|");
  if (magic !== "1" || salt === undefined || hash === undefined) return false;
  return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(name);
}

function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith("|")) return hashedMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(",")) {
    if (p.startsWith("!") && globMatches(p.slice(1), name)) return false;
    if (globMatches(p, name)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict = "trusted" | "unknown_host" | "key_mismatch" | "revoked";

/** Checks the key blob the server offered (SSH wire format) against known_hosts text. */
export function checkHostKey(
  knownHosts: string,
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyVerdict {
  const name = hostEntryName(host, port);
  const offered = keyBlob.toString("base64");
  const entries = knownHosts
    .split("\n")
    .map(parseLine)
    .filter((e): e is KnownHost => e !== undefined);
  if (entries.some((e) => e.marker === "@revoked" && e.key === offered)) return "revoked";
  const forHost = entries.filter((e) => e.marker === undefined && hostMatches(e.patterns, name));
  if (forHost.length === 0) return "unknown_host";
  return forHost.some((e) => e.key === offered) ? "trusted" : "key_mismatch";
}
