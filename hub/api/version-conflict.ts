/**
 * What a 409 on POST /releases says: how the release a version holds differs from the one published
 * under it, and what CI can do. "its signature differs from this one" left an operator to guess
 * which of the two was signed, or by which key, and whether anything but a new version helps.
 */
import type { PublishRelease } from "../../shared/api/bodies.js";
import { canonicalJson } from "../../shared/signing/canonical-json.js";
import { parseSignature, type Signature } from "../../shared/signing/signature.js";
import { textStart } from "../../shared/text-cut.js";
import { quotedText } from "../quoted-text.js";
import type { ReleaseRecord } from "../store/store.js";
import { maskManifestSecrets } from "./release-view.js";

/** The signature document a text holds, or undefined for none or one that does not parse. */
function signatureOf(text: string | null | undefined): Signature | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    return parseSignature(text);
  } catch {
    return undefined;
  }
}

/**
 * Whether two signature texts are the same signature: spelt apart (spaces, key order: a .sig sent
 * with curl, then by `ship release publish`, which re-serialises it) they sign the same, and a
 * retried CI job then got a 409 for its own release.
 */
export function sameSignature(held: string | null, sent: string | undefined): boolean {
  if (held === (sent ?? null)) return true;
  const [a, b] = [signatureOf(held), signatureOf(sent)];
  return a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b);
}

/** The first line the two manifests differ at, both sides cut short and quoted. */
function firstManifestDifference(held: string, sent: string): string {
  const [a, b] = [held.split("\n"), sent.split("\n")];
  let i = 0;
  while (i < Math.max(a.length, b.length) && a[i] === b[i]) i++;
  const line = (text: string | undefined) =>
    text === undefined ? "no line" : `${quotedText(textStart(text, 80))}${text.length > 80 ? "…" : ""}`;
  return `line ${i + 1}: ${line(a[i])} there, ${line(b[i])} here`;
}

/**
 * Where the manifests first differ, quoted as GET /releases shows them: the held one's notification
 * URLs and webhook headers masked. Quoted as stored, a CI token that changed a secret's line of the
 * masked manifest it read, and published it under the same version, was answered the line with the
 * secret. When the two differ only in such values, that is all that is said.
 */
function manifestDifference(held: ReleaseRecord, body: PublishRelease): string {
  const [there, here] = [maskManifestSecrets(held.manifest), maskManifestSecrets(body.manifest)];
  return there === here
    ? "in a notification URL or webhook header value, which is not shown"
    : firstManifestDifference(there, here);
}

/** A source by what it delivers, never by its location (a presigned URL's query is a secret). */
const deliveredBy = (source: ReleaseRecord["source"]): string =>
  source.type === "git" ? `git commit ${source.commit}` : `${source.type} artifact sha256 ${source.sha256}`;

export interface VersionConflict {
  /** Each way the held release differs, as a phrase: "its manifest differs (line 3: …)". */
  differences: string[];
  /** What CI can do about it. */
  advice: string;
}

/**
 * How `held` differs from `body` (manifest, source, signature); undefined when it does not (the same
 * release, published already). The manifest and source differences come first: when they differ the
 * signatures differ too, and saying so adds nothing. A signature is described by whether there is one
 * and by its key, what an operator can check against CI's secret store.
 */
export function versionConflict(
  held: ReleaseRecord,
  body: PublishRelease,
  sameSource: boolean,
): VersionConflict | undefined {
  const differences: string[] = [];
  if (held.manifest !== body.manifest)
    differences.push(`its manifest differs (${manifestDifference(held, body)})`);
  if (!sameSource) {
    const [there, here] = [deliveredBy(held.source), deliveredBy(body.source)];
    differences.push(
      there === here
        ? `its source differs (${there}, from another location)`
        : `its source differs (${there} there, ${here} here)`,
    );
  }
  const sameSig = sameSignature(held.signature, body.signature);
  const newBuild = "publish this build under a new version";
  if (differences.length > 0) return { differences, advice: newBuild };
  if (sameSig) return undefined;
  const [a, b] = [signatureOf(held.signature), signatureOf(body.signature)];
  if (held.signature === null)
    return {
      differences: [`it is unsigned and this one is signed (key ${b?.keyId ?? "unknown"})`],
      advice: `a release is never signed after it is published: ${newBuild}, signed`,
    };
  if (body.signature === undefined)
    return {
      differences: [`it is signed (key ${a?.keyId ?? "unknown"}) and this one is not`],
      advice:
        "to publish the same release again send the signature it was published with (body.signature); for an unsigned release, a new version",
    };
  if (a !== undefined && b !== undefined && a.keyId !== b.keyId)
    return {
      differences: [`it is signed with key ${a.keyId} and this one with key ${b.keyId}`],
      advice: `a release is never signed again: agents trusting key ${a.keyId} install it (while keys rotate, [trust] lists both); or ${newBuild}`,
    };
  return { differences: ["its signature differs from this one"], advice: newBuild };
}
