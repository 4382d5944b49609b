/**
 * Release signatures: Ed25519 over the canonical JSON of {app, version, artifactSha256,
 * manifestSha256}, so none of the four can be swapped for another release's.
 */
import { createPrivateKey, type KeyObject, sign, verify } from "node:crypto";
import * as z from "zod";
import { VerificationError } from "../errors.js";
import { canonicalJson } from "./canonical-json.js";
import { KeyFormatError, keyIdOf, parsePublicKey } from "./keys.js";
import { pemKeyProblem } from "./pem-problem.js";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

export const ReleasePayload = z.strictObject({
  app: z.string().min(1),
  version: z.string().min(1),
  /** sha256 of the artifact; for a git release, `git:<commit>` (the commit names the whole tree). */
  artifactSha256: z.union([sha256Hex, z.string().regex(/^git:[0-9a-f]{40,64}$/, "must be git:<commit>")]),
  manifestSha256: sha256Hex,
});
export type ReleasePayload = z.infer<typeof ReleasePayload>;

const ed25519SignatureBytes = 64;

export const Signature = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{16}$/, "must be 16 hex digits"),
  alg: z.literal("ed25519"),
  payload: ReleasePayload,
  signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
    .superRefine((text, ctx) => {
      // No key verifies other than 64 bytes: such a document (cut short on its way, padded) was
      // taken by publish and the hub, the version spent on a release every [trust] agent refuses.
      const bytes = Buffer.from(text, "base64");
      if (bytes.length === ed25519SignatureBytes && bytes.toString("base64") === text) return;
      ctx.addIssue({
        code: "custom",
        message: `must be an Ed25519 signature, ${ed25519SignatureBytes} bytes in base64 (88 characters); this one holds ${bytes.length} bytes`,
      });
    }),
});
export type Signature = z.infer<typeof Signature>;

export const signatureFailures = [
  "unsigned",
  "malformed",
  "unknown_key",
  "bad_signature",
  "app_mismatch",
  "version_mismatch",
  "artifact_mismatch",
  "manifest_mismatch",
] as const;
export type SignatureFailure = (typeof signatureFailures)[number];

/** A release whose signature does not prove CI signed exactly this app, version and content. Exit 2. */
export class SignatureError extends VerificationError {
  constructor(
    readonly reason: SignatureFailure,
    detail: string,
    /** For a *_mismatch: what the signature says, and what the release at hand has. */
    readonly mismatch?: { signed: string; actual: string },
  ) {
    super("signature", `${reason.replace(/_/g, " ")}: ${detail}`);
    this.name = "SignatureError";
  }
}

export function signRelease(payload: ReleasePayload, privateKeyPem: string): Signature {
  const checked = ReleasePayload.parse(payload);
  let privateKey: KeyObject;
  if (privateKeyPem.includes("-----BEGIN PUBLIC KEY-----"))
    throw new KeyFormatError("is a public key: sign with the private key (ship-release.key)");
  const unusable = unusableKeyForm(privateKeyPem);
  if (unusable !== undefined) throw new KeyFormatError(unusable);
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    // OpenSSL's own words ("error:1E08010C:DECODER routines::unsupported") name no cause.
    throw new KeyFormatError(pemKeyProblem(privateKeyPem, "PRIVATE KEY"));
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new KeyFormatError(`a ${privateKey.asymmetricKeyType ?? "unknown"} key; sign with an Ed25519 key`);
  }
  const signature = sign(null, Buffer.from(canonicalJson(checked)), privateKey).toString("base64");
  return { keyId: keyIdOf(privateKey), alg: "ed25519", payload: checked, signature };
}

/**
 * Key forms OpenSSL refuses only with its own codes ("error:07880109:…interrupted or cancelled" for
 * a passphrase, "error:1E08010C:DECODER routines::unsupported" for ssh-keygen's format): said in
 * words, with how to get a key that signs.
 */
function unusableKeyForm(text: string): string | undefined {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(text))
    return "is encrypted (it has a passphrase), and signing in CI asks for none: store it without one (openssl pkey -in KEY -out KEY.plain, then chmod 600) in the CI secret store, or make one with ship release keygen";
  if (text.includes("-----BEGIN OPENSSH PRIVATE KEY-----"))
    return "is an OpenSSH private key (ssh-keygen's format), which cannot sign releases: make a release key with ship release keygen (a PEM Ed25519 key)";
  if (/^\s*(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) AAAA/.test(text))
    return "is an OpenSSH public key: sign with a release key's private half, made with ship release keygen";
  return undefined;
}

/** Accepts the document as parsed JSON or as its text (how the hub and .sig files carry it). */
export function parseSignature(document: unknown): Signature {
  if (document === undefined || document === null || document === "") {
    throw new SignatureError("unsigned", "the release carries no signature and trusted keys are configured");
  }
  let value = document;
  if (typeof document === "string") {
    try {
      value = JSON.parse(document);
    } catch {
      throw new SignatureError("malformed", "the signature document is not JSON");
    }
  }
  const parsed = Signature.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? `${first.path.join(".")}: ` : "";
    throw new SignatureError("malformed", `${where}${first?.message ?? "not a signature document"}`);
  }
  return parsed.data;
}

function compare(reason: SignatureFailure, what: string, signed: string, actual: string): void {
  if (signed !== actual)
    throw new SignatureError(reason, `signed ${what} ${signed}, this release has ${actual}`, {
      signed,
      actual,
    });
}

/**
 * The release at hand. Its version may be a function that reads it from the manifest: it is called
 * only once the manifest's bytes are proven to be the signed ones, so a manifest nobody trusted
 * yet never reaches the YAML parser.
 */
export type ReleaseAtHand = Omit<ReleasePayload, "version"> & { version: string | (() => string) };

/**
 * Checks that `signature` was made by one of `trustedKeys` (PEM or base64 raw) over exactly
 * `expected`; returns the signing key's id, throws SignatureError (a VerificationError) otherwise.
 * Unreadable trusted keys are a config problem the caller reports when loading them. The digests
 * are compared before the version, which may have to be read from the manifest they prove.
 */
export function verifyRelease(signature: unknown, expected: ReleaseAtHand, trustedKeys: string[]): string {
  const doc = parseSignature(signature);
  const key = trustedKeys.map(parsePublicKey).find((k) => keyIdOf(k) === doc.keyId);
  if (key === undefined) {
    throw new SignatureError("unknown_key", `signed by key ${doc.keyId}, which is not in [trust]`);
  }
  if (!verify(null, Buffer.from(canonicalJson(doc.payload)), key, Buffer.from(doc.signature, "base64"))) {
    throw new SignatureError("bad_signature", `the signature by key ${doc.keyId} does not match its payload`);
  }
  compare("app_mismatch", "app", doc.payload.app, expected.app);
  compare("artifact_mismatch", "artifact digest", doc.payload.artifactSha256, expected.artifactSha256);
  compare("manifest_mismatch", "manifest digest", doc.payload.manifestSha256, expected.manifestSha256);
  const version = typeof expected.version === "function" ? expected.version() : expected.version;
  compare("version_mismatch", "version", doc.payload.version, version);
  return doc.keyId;
}
