/**
 * What a private key file is, read from its armour alone (no crypto library): OpenSSH's own format,
 * or PEM (PKCS#1/SEC1 "RSA/EC/DSA PRIVATE KEY", PKCS#8 "PRIVATE KEY"), and whether a passphrase
 * protects it. git runs ssh in batch mode, where an encrypted key only ever reads "Permission denied
 * (publickey)": telling it apart up front turns a retry-forever failure into a config error.
 */

export type KeyArmour = "openssh" | "pem" | "none";

export interface PrivateKeyFacts {
  armour: KeyArmour;
  /** A passphrase protects the key (false when the armour is unknown). */
  encrypted: boolean;
}

const OPENSSH = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/;
const PEM = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----([\s\S]*?)-----END \1-----/;
const MAGIC = "openssh-key-v1\0";

export function privateKeyFacts(data: Buffer): PrivateKeyFacts {
  const text = data.toString("latin1");
  const openssh = OPENSSH.exec(text);
  if (openssh !== null) return { armour: "openssh", encrypted: opensshCipher(openssh[1] ?? "") !== "none" };
  const pem = PEM.exec(text);
  if (pem !== null) {
    const encrypted =
      pem[1] === "ENCRYPTED PRIVATE KEY" || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(pem[2] ?? "");
    return { armour: "pem", encrypted };
  }
  return { armour: "none", encrypted: false };
}

/**
 * The cipher an OpenSSH key names after its magic ("none" for a key without passphrase); a body
 * that does not decode as one is reported as unencrypted and left for ssh to judge.
 */
function opensshCipher(base64: string): string {
  const body = Buffer.from(base64.replace(/\s+/g, ""), "base64");
  if (body.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) return "none";
  const at = MAGIC.length;
  if (body.length < at + 4) return "none";
  const length = body.readUInt32BE(at);
  if (length > 64 || body.length < at + 4 + length) return "none";
  return body.subarray(at + 4, at + 4 + length).toString("latin1");
}
