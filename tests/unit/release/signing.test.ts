import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import {
  canonicalJson,
  generateKeyPair,
  loadTrustedKeys,
  parsePublicKey,
  type ReleasePayload,
  SignatureError,
  type SignatureFailure,
  signRelease,
  verifyRelease,
  verifyReleaseTrust,
} from "../../../shared/signing/index.js";

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const payload: ReleasePayload = {
  app: "myapp",
  version: "1.2.3",
  artifactSha256: sha("artifact"),
  manifestSha256: sha("manifest"),
};
const ci = generateKeyPair();
const other = generateKeyPair();

function rawBase64(pem: string): string {
  const der = createPublicKey(pem).export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32).toString("base64");
}

function failure(run: () => unknown): SignatureFailure | undefined {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return (e as SignatureError).reason;
  }
  return undefined;
}

describe("release signatures", () => {
  it("derives the key id from the raw public key", () => {
    const raw = Buffer.from(rawBase64(ci.publicKeyPem), "base64");
    expect(ci.keyId).toBe(createHash("sha256").update(raw).digest("hex").slice(0, 16));
    expect(ci.keyId).not.toBe(other.keyId);
  });

  it("signs canonical JSON with sorted keys", () => {
    expect(canonicalJson({ b: 1, a: { d: "x", c: [2, 1] } })).toBe('{"a":{"c":[2,1],"d":"x"},"b":1}');
    const sig = signRelease(payload, ci.privateKeyPem);
    expect(sig).toMatchObject({ keyId: ci.keyId, alg: "ed25519", payload });
    expect(Buffer.from(sig.signature, "base64")).toHaveLength(64);
  });

  it("round-trips with a PEM key, a raw base64 key, and the document as JSON text", () => {
    const sig = signRelease(payload, ci.privateKeyPem);
    expect(verifyRelease(sig, payload, [other.publicKeyPem, ci.publicKeyPem])).toBe(ci.keyId);
    expect(verifyRelease(JSON.stringify(sig), payload, [rawBase64(ci.publicKeyPem)])).toBe(ci.keyId);
  });

  it("refuses every tampered or missing part with its own reason", () => {
    const sig = signRelease(payload, ci.privateKeyPem);
    const keys = [ci.publicKeyPem];
    expect(failure(() => verifyRelease(undefined, payload, keys))).toBe("unsigned");
    expect(failure(() => verifyRelease("", payload, keys))).toBe("unsigned");
    expect(failure(() => verifyRelease("{not json", payload, keys))).toBe("malformed");
    expect(failure(() => verifyRelease({ ...sig, alg: "rsa" }, payload, keys))).toBe("malformed");
    expect(failure(() => verifyRelease({ ...sig, extra: 1 }, payload, keys))).toBe("malformed");
    expect(failure(() => verifyRelease(sig, payload, [other.publicKeyPem]))).toBe("unknown_key");
    const forged = { ...sig, payload: { ...sig.payload, version: "9.9.9" } };
    expect(failure(() => verifyRelease(forged, { ...payload, version: "9.9.9" }, keys))).toBe(
      "bad_signature",
    );
    const byOther = signRelease(payload, other.privateKeyPem);
    expect(failure(() => verifyRelease({ ...byOther, keyId: ci.keyId }, payload, keys))).toBe(
      "bad_signature",
    );
    expect(failure(() => verifyRelease(sig, { ...payload, app: "else" }, keys))).toBe("app_mismatch");
    expect(failure(() => verifyRelease(sig, { ...payload, version: "1.2.4" }, keys))).toBe(
      "version_mismatch",
    );
    expect(failure(() => verifyRelease(sig, { ...payload, artifactSha256: sha("evil") }, keys))).toBe(
      "artifact_mismatch",
    );
    expect(failure(() => verifyRelease(sig, { ...payload, manifestSha256: sha("evil") }, keys))).toBe(
      "manifest_mismatch",
    );
  });

  it("says why in the message", () => {
    const sig = signRelease(payload, ci.privateKeyPem);
    expect(() => verifyRelease(sig, { ...payload, version: "2.0.0" }, [ci.publicKeyPem])).toThrow(
      /version mismatch: signed version 1\.2\.3, this release has 2\.0\.0/,
    );
  });

  it("rejects keys that are not Ed25519", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(() => parsePublicKey(pem)).toThrow(/Ed25519/);
    expect(() => parsePublicKey("c2hvcnQ=")).toThrow(/32-byte/);
    const rsaPrivate = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => signRelease(payload, rsaPrivate)).toThrow(/Ed25519/);
  });
});

describe("trust in ship.toml", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-trust-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads keys inline and from files, and names bad entries", async () => {
    const keyFile = join(dir, "ci.pub");
    await writeFile(keyFile, ci.publicKeyPem);
    const trust = { keys: [rawBase64(other.publicKeyPem)], key_files: [keyFile], allow_downgrade: false };
    expect(await loadTrustedKeys(trust)).toHaveLength(2);
    const bad = { keys: ["nope"], key_files: [join(dir, "missing.pub")], allow_downgrade: false };
    const error = await loadTrustedKeys(bad, "/etc/ship/ship.toml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).issues.map((i) => i.path)).toEqual([
      "trust.keys[0]",
      "trust.key_files[0]",
    ]);
  });

  // Read again for every release `ship agent` checks: a key file made writable since the start
  // is refused then, for whoever can write it could add their own key.
  it("refuses a key file others can write, naming the entry and the mode", async () => {
    const keyFile = join(dir, "shared.pub");
    await writeFile(keyFile, ci.publicKeyPem);
    await chmod(keyFile, 0o666);
    const trust = { keys: [], key_files: [keyFile], allow_downgrade: false };
    const error = await loadTrustedKeys(trust, "/etc/ship/ship.toml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).issues).toEqual([
      expect.objectContaining({
        file: "/etc/ship/ship.toml",
        path: "trust.key_files[0]",
        message: expect.stringMatching(/shared\.pub is writable by other users \(mode 666\).*chmod go-w it$/),
      }),
    ]);
    await chmod(keyFile, 0o644);
    expect(await loadTrustedKeys(trust)).toHaveLength(1);
  });

  it("verifyReleaseTrust: unverified without keys, enforced with them", async () => {
    const sigPath = join(dir, "app.tar.gz.sig");
    await writeFile(sigPath, JSON.stringify(signRelease(payload, ci.privateKeyPem)));
    expect(await verifyReleaseTrust({ trust: undefined, ...payload })).toEqual({
      verified: false,
      reason: "no trusted keys",
    });
    const trust = { keys: [ci.publicKeyPem], key_files: [], allow_downgrade: false };
    expect(await verifyReleaseTrust({ trust, signaturePath: sigPath, ...payload })).toEqual({
      verified: true,
      keyId: ci.keyId,
    });
    const missing = verifyReleaseTrust({ trust, signaturePath: join(dir, "none.sig"), ...payload });
    await expect(missing).rejects.toMatchObject({ reason: "unsigned" });
    const swapped = verifyReleaseTrust({ trust, signaturePath: sigPath, ...payload, version: "1.2.4" });
    await expect(swapped).rejects.toBeInstanceOf(SignatureError);
  });
});
