import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  hostKeyAlgorithms,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
  verifyHostKey,
} from "../../../agent/sources/ssh/known-hosts.js";

const keyA = randomBytes(51);
const keyB = randomBytes(51);
const line = (hosts: string, key: Buffer, marker = "") =>
  `${marker}${hosts} ssh-ed25519 ${key.toString("base64")}`;

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac("sha1", salt).update(name).digest();
  return `|1|${salt.toString("base64")}|${hash.toString("base64")}`;
}

describe("known_hosts", () => {
  it("names hosts as OpenSSH does", () => {
    expect(knownHostsName("example.com", 22)).toBe("example.com");
    expect(knownHostsName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("matches plain, bracketed-port, comma-listed and wildcard entries", () => {
    const entries = parseKnownHosts(
      [
        "# comment",
        line("deploy.example.com,10.0.0.5", keyA),
        line("[127.0.0.1]:2222", keyB),
        line("*.internal", keyA),
      ].join("\n"),
    );
    expect(verifyHostKey(entries, "10.0.0.5", 22, keyA)).toBe("match");
    expect(verifyHostKey(entries, "127.0.0.1", 2222, keyB)).toBe("match");
    expect(verifyHostKey(entries, "127.0.0.1", 22, keyB)).toBe("unknown");
    expect(verifyHostKey(entries, "build.internal", 22, keyA)).toBe("match");
    expect(verifyHostKey(entries, "deploy.example.com", 22, keyB)).toBe("mismatch");
    expect(verifyHostKey(entries, "other.example.com", 22, keyA)).toBe("unknown");
  });

  it("honours negated patterns", () => {
    const entries = parseKnownHosts(line("*.example.com,!evil.example.com", keyA));
    expect(verifyHostKey(entries, "good.example.com", 22, keyA)).toBe("match");
    expect(verifyHostKey(entries, "evil.example.com", 22, keyA)).toBe("unknown");
  });

  it("matches hashed host names (HMAC-SHA1 with the stored salt)", () => {
    const entries = parseKnownHosts(`${line(hashed("[10.1.1.1]:2022"), keyA)}\n`);
    expect(verifyHostKey(entries, "10.1.1.1", 2022, keyA)).toBe("match");
    expect(verifyHostKey(entries, "10.1.1.1", 22, keyA)).toBe("unknown");
    expect(verifyHostKey(entries, "10.1.1.1", 2022, keyB)).toBe("mismatch");
  });

  it("reports a revoked key even when another line trusts it", () => {
    const entries = parseKnownHosts([line("h", keyA), line("h", keyA, "@revoked ")].join("\n"));
    expect(verifyHostKey(entries, "h", 22, keyA)).toBe("revoked");
  });

  it("prints SHA256 fingerprints like ssh-keygen -l", () => {
    expect(sha256Fingerprint(Buffer.from("abc"))).toBe("SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
  });

  it("asks first for the key types known_hosts holds for the host, then the library's order", () => {
    const entries = parseKnownHosts(
      [
        `h ssh-rsa ${keyA.toString("base64")}`,
        `other ecdsa-sha2-nistp256 ${keyB.toString("base64")}`,
        `@revoked h ecdsa-sha2-nistp384 ${keyB.toString("base64")}`,
      ].join("\n"),
    );
    expect(hostKeyAlgorithms(entries, "h", 22)?.slice(0, 4)).toEqual([
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
      "ssh-ed25519",
    ]);
    expect(hostKeyAlgorithms(entries, "unknown-host", 22)).toBeUndefined();
  });
});
