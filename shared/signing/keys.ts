/**
 * Ed25519 keys with node:crypto only. A public key is accepted as PEM (SPKI) or as base64 of the
 * raw 32 bytes; its id is the first 16 hex digits of sha256(raw key), short enough to read in logs.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ExitCode, ShipError } from "../errors.js";
import { pemKeyProblem } from "./pem-problem.js";

export interface ReleaseKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
  keyId: string;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A key that is not a usable Ed25519 key: bad input (exit 2). */
export class KeyFormatError extends ShipError {
  readonly exitCode = ExitCode.badInput;
  constructor(message: string) {
    super(message);
    this.name = "KeyFormatError";
  }
}

/** The raw 32 bytes of a public key (a private key yields its public half). */
export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const der = publicKey.export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32);
}

export function keyIdOf(key: KeyObject): string {
  return createHash("sha256").update(rawPublicKey(key)).digest("hex").slice(0, 16);
}

export function generateKeyPair(): ReleaseKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * The keys a trusted-key text holds, each as its own text: one base64 raw key, or one or more PEM
 * public keys (a bundle of the new and the old key while keys rotate). Everything else is refused
 * rather than skipped: a private key (it belongs in CI's secret store, never on servers), a
 * certificate (its expiry and issuer would be ignored), text that is no key beside keys (a
 * truncated or mangled paste). `#` comment lines are allowed. Throws KeyFormatError.
 */
export function splitPublicKeys(text: string): string[] {
  const withoutComments = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");
  if (!withoutComments.includes("-----BEGIN")) {
    parsePublicKey(withoutComments);
    return [withoutComments.trim()];
  }
  const blocks = [...withoutComments.matchAll(PEM_BLOCK)];
  const rest = withoutComments.replace(PEM_BLOCK, "").trim();
  if (rest !== "") {
    throw new KeyFormatError(
      rest.includes("-----")
        ? "holds a PEM block that does not end (truncated?)"
        : "holds text that is not a key beside its PEM key(s)",
    );
  }
  for (const [, label] of blocks) {
    if (label?.endsWith("PRIVATE KEY")) {
      throw new KeyFormatError(
        "is a private key: [trust] takes the public key (ship-release.pub); keep the private key in CI's secret store, never on servers",
      );
    }
    if (label !== "PUBLIC KEY") {
      throw new KeyFormatError(
        `holds a ${label} block; [trust] takes Ed25519 public keys (BEGIN PUBLIC KEY)`,
      );
    }
  }
  return blocks.map(([block]) => {
    parsePublicKey(block);
    return block;
  });
}

/** Parses a trusted public key; throws KeyFormatError naming what is wrong with it. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  if (trimmed.includes("-----BEGIN")) {
    if (!trimmed.startsWith("-----BEGIN PUBLIC KEY-----"))
      throw new KeyFormatError("not a PEM public key (BEGIN PUBLIC KEY)");
    try {
      key = createPublicKey(trimmed);
    } catch {
      throw new KeyFormatError(pemKeyProblem(trimmed, "PUBLIC KEY"));
    }
  } else {
    const raw = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, "base64") : Buffer.alloc(0);
    if (trimmed === "") throw new KeyFormatError(pemKeyProblem(trimmed, "PUBLIC KEY"));
    if (raw.length !== 32) {
      throw new KeyFormatError("expected a PEM public key or base64 of the raw 32-byte Ed25519 key");
    }
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new KeyFormatError(`a ${key.asymmetricKeyType ?? "unknown"} key; releases are signed with Ed25519`);
  }
  return key;
}
