import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkHostKey, hostEntryName } from "../../../agent/release/known-hosts.js";

const key = randomBytes(51);
const other = randomBytes(51);
const b64 = (b: Buffer): string => b.toString("base64");

describe("known_hosts matching", () => {
  it("names hosts as OpenSSH does", () => {
    expect(hostEntryName("deploy.example.com", 22)).toBe("deploy.example.com");
    expect(hostEntryName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("trusts only the listed key for the listed host and port", () => {
    const text = `# comment\n\ndeploy.example.com,10.0.0.1 ssh-ed25519 ${b64(key)}\n[other]:2222 ssh-ed25519 ${b64(other)}\n`;
    expect(checkHostKey(text, "deploy.example.com", 22, key)).toBe("trusted");
    expect(checkHostKey(text, "10.0.0.1", 22, key)).toBe("trusted");
    expect(checkHostKey(text, "deploy.example.com", 22, other)).toBe("key_mismatch");
    expect(checkHostKey(text, "deploy.example.com", 2222, key)).toBe("unknown_host");
    expect(checkHostKey(text, "other", 2222, other)).toBe("trusted");
    expect(checkHostKey(text, "unlisted", 22, key)).toBe("unknown_host");
  });

  it("handles hashed names, wildcards, negation and @revoked", () => {
    const salt = randomBytes(20);
    const hmac = createHmac("sha1", salt).update("[h]:2200").digest("base64");
    const text = [
      `|1|${b64(salt)}|${hmac} ssh-ed25519 ${b64(key)}`,
      `*.example.com,!bad.example.com ssh-ed25519 ${b64(key)}`,
      `@revoked * ssh-ed25519 ${b64(other)}`,
    ].join("\n");
    expect(checkHostKey(text, "h", 2200, key)).toBe("trusted");
    expect(checkHostKey(text, "h", 22, key)).toBe("unknown_host");
    expect(checkHostKey(text, "a.example.com", 22, key)).toBe("trusted");
    expect(checkHostKey(text, "bad.example.com", 22, key)).toBe("unknown_host");
    expect(checkHostKey(text, "a.example.com", 22, other)).toBe("revoked");
  });
});
