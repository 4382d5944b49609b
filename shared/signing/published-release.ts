/**
 * Whether a signature document speaks of the release it is published with: its app, version,
 * artifact (sha256, or git:<commit>) and manifest. No key is needed for that, so `ship release
 * publish` and the hub's POST /releases both ask it: the hub took any text (a login page, the last
 * release's .sig), every agent with [trust] keys refused the release, and its version, immutable,
 * was spent.
 */
import { createHash } from "node:crypto";
import type { ReleaseSourceRef } from "../protocol/messages.js";
import { parseSignature, type ReleasePayload, SignatureError, type SignatureFailure } from "./signature.js";

export interface PublishedRelease {
  app: string;
  version: string;
  /** The manifest's text, as agents are sent it and hash it. */
  manifest: string;
  source: ReleaseSourceRef;
}

const mismatch = {
  app: "app_mismatch",
  version: "version_mismatch",
  artifactSha256: "artifact_mismatch",
  manifestSha256: "manifest_mismatch",
} as const satisfies Record<keyof ReleasePayload, SignatureFailure>;

const shown: Record<keyof ReleasePayload, string> = {
  app: "app",
  version: "version",
  artifactSha256: "artifact sha256",
  manifestSha256: "manifest sha256",
};

/**
 * Throws SignatureError (malformed, or the first field the signature names otherwise) unless
 * `signatureText` is a signature document of exactly this release. A git release may be published
 * by a short commit: agents resolve it and check the full one, which the signature names.
 */
export function checkSignatureOfRelease(signatureText: string, release: PublishedRelease): void {
  const { payload } = parseSignature(signatureText);
  const { source } = release;
  const artifact = source.type === "git" ? `git:${source.commit}` : source.sha256;
  const expected: ReleasePayload = {
    app: release.app,
    version: release.version,
    artifactSha256: artifact,
    manifestSha256: createHash("sha256").update(release.manifest).digest("hex"),
  };
  for (const key of Object.keys(mismatch) as (keyof ReleasePayload)[]) {
    const signed = payload[key];
    const same =
      signed === expected[key] ||
      (key === "artifactSha256" && source.type === "git" && signed.startsWith(artifact));
    if (!same)
      throw new SignatureError(
        mismatch[key],
        `the signature is for ${shown[key]} ${signed}, not ${expected[key]}`,
      );
  }
}
