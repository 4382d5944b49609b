/**
 * A release as people read it (GET /releases, the dashboard, the POST answer): what it needs to
 * carry to agents can hold secrets that operators and CI tokens must not read back. The manifest's
 * notifications hold webhook and Slack URLs (their path is the credential) and webhook headers; an
 * http source's URL may be presigned (query values). Those are masked here; agents still get the
 * release verbatim over their channel (deploy-encoder.ts), where the signature covers the exact text.
 */

import { parseDocument, visit } from "yaml";
import { BadInputError, formatIssue } from "../../shared/errors.js";
import { HUB_MANIFEST_LIMITS } from "../../shared/manifest/limits.js";
import {
  MANIFEST_MAX_ALIASES,
  MANIFEST_YAML_OPTIONS,
  parseManifestText,
} from "../../shared/manifest/load.js";
import { textStart } from "../../shared/text-cut.js";
import { isoTime, type ShownTime } from "../shown-time.js";
import type { ReleaseRecord } from "../store/store.js";

const MASK = "***";

/**
 * Masked manifests by release id. A release never changes, and masking parses the YAML (about 10 ms
 * for a 3 KB manifest on a busy box): a listing of 100 releases must not pay that on every request.
 * The cache is the module's, shared by every hub in the process (tests start many, and reuse ids),
 * so an entry holds the text it masked and is used only for that same text: comparing 64 KiB costs
 * microseconds, a parse milliseconds. An entry's warnings are computed only for a release stored
 * before they were stored with it (ReleaseRecord.warnings absent), once per process.
 */
const maskedManifests = new Map<string, { text: string; masked: string; warnings?: string[] }>();
const MAX_CACHED = 2000;

function maskedManifestOf(release: ReleaseRecord): { masked: string; warnings: string[] } {
  let entry = maskedManifests.get(release.id);
  if (entry === undefined || entry.text !== release.manifest) {
    if (entry === undefined && maskedManifests.size >= MAX_CACHED) {
      const oldest = maskedManifests.keys().next().value;
      if (oldest !== undefined) maskedManifests.delete(oldest);
    }
    entry = { text: release.manifest, masked: maskManifestSecrets(release.manifest) };
    maskedManifests.set(release.id, entry);
  }
  if (release.warnings !== undefined) return { masked: entry.masked, warnings: release.warnings };
  entry.warnings ??= manifestWarnings(release.manifest);
  return { masked: entry.masked, warnings: entry.warnings };
}

/**
 * What the manifest's reader warns about, as the publish's answer said it (`warning: manifest:4:3
 * rollback.auto_rolback_on: unknown key …`): only CI's log showed it, and the Releases page an
 * operator rolls a release out from said nothing. A manifest a later hub reads as invalid says why.
 */
function manifestWarnings(text: string): string[] {
  try {
    return parseManifestText(text, "manifest", HUB_MANIFEST_LIMITS).warnings.map(formatIssue);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    return error.issues.map(formatIssue);
  }
}

/**
 * A release as people read it, with its manifest's `description` said apart as a card's line: cut
 * past DESCRIBED characters (the manifest holds it whole), so it does not double a listing's bytes.
 */
export type ReleaseView = Omit<ReleaseRecord, "created"> & {
  created: string;
  description: string;
  /** What the manifest's reader warns about, one line each ([] when nothing). */
  warnings: string[];
};

const DESCRIBED = 300;

export function releaseForPeople(release: ReleaseRecord, shown: ShownTime = isoTime): ReleaseView {
  const source =
    release.source.type === "http" || release.source.type === "https"
      ? { ...release.source, url: maskQuery(release.source.url) }
      : release.source;
  const { masked: manifest, warnings } = maskedManifestOf(release);
  const description = manifestDescription(manifest);
  return {
    ...release,
    // A time, as every API answer gives one (ISO 8601), not the store's milliseconds.
    created: shown(release.created),
    source,
    manifest,
    description: description.length > DESCRIBED ? `${textStart(description, DESCRIBED)}…` : description,
    warnings,
  };
}

/**
 * A release in a listing without manifests (`GET /releases?manifest=false`): the Releases page and
 * the rollout form downloaded up to 200 manifests of up to 64 KiB on every refresh to show a line
 * of each; the manifest is read by id (`GET /releases/ID`) when someone opens it.
 */
export function releaseListed(
  release: ReleaseRecord,
  shown: ShownTime = isoTime,
): Omit<ReleaseView, "manifest"> {
  const { manifest: _manifest, ...listed } = releaseForPeople(release, shown);
  return listed;
}

/**
 * The manifest's `description` without a YAML parse (a listing of hundreds must not pay one each):
 * a one-line value, or a block scalar's lines joined; "" when it has none.
 */
export function manifestDescription(manifest: string): string {
  const lines = manifest.split("\n");
  const index = lines.findIndex((l) => /^description:/.test(l));
  if (index === -1) return "";
  const value = (lines[index] ?? "").replace(/^description:\s*/, "").trim();
  if (!/^[|>][-+]?$/.test(value)) return value.replace(/^(["'])(.*)\1$/, "$2");
  const block: string[] = [];
  for (const line of lines.slice(index + 1)) {
    if (line.trim() !== "" && !/^\s/.test(line)) break;
    block.push(line.trim());
  }
  return block.join(" ").trim();
}

/** Query values out (a presigned URL's signature); user:password is refused at publish. */
function maskQuery(raw: string): string {
  if (!URL.canParse(raw)) return raw;
  const url = new URL(raw);
  if (url.search === "") return raw;
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, MASK);
  return url.toString();
}

/** A notification URL shown as its origin: a Slack or webhook URL's path is the secret. */
function notificationUrlMask(raw: string): string {
  return URL.canParse(raw) ? `${new URL(raw).origin}/…` : MASK;
}

/**
 * The manifest text with every notification URL and webhook header value masked, wherever the
 * value is written (an `x-…` anchor an alias points at included); comments and layout kept.
 */
export function maskManifestSecrets(text: string): string {
  // No notifications, nothing to mask: most manifests are returned without being parsed. (A
  // backslash could spell the key as an escape in a quoted key, so such a text is parsed.)
  if (!text.includes("notifications") && !text.includes("\\")) return text;
  // Read as the agent reads it (merge keys, its alias budget): a notification the mask cannot see
  // through a `<<` is still one the agent sends, and its URL and headers were answered verbatim.
  const doc = parseDocument(text, MANIFEST_YAML_OPTIONS);
  if (doc.errors.length > 0) return text.length === 0 ? text : "(manifest not shown: it does not parse)";
  const masks = new Map<string, string>();
  let notifications: unknown;
  try {
    notifications = (doc.toJS({ maxAliasCount: MANIFEST_MAX_ALIASES }) as { notifications?: unknown } | null)
      ?.notifications;
  } catch {
    return "(manifest not shown: it could not be read)";
  }
  for (const when of ["on_success", "on_failure"]) {
    const list = (notifications as Record<string, unknown> | null | undefined)?.[when];
    if (!Array.isArray(list)) continue;
    for (const item of list as unknown[]) {
      if (typeof item !== "object" || item === null) continue;
      const { url, headers } = item as { url?: unknown; headers?: unknown };
      if (typeof url === "string") masks.set(url, notificationUrlMask(url));
      if (typeof headers === "object" && headers !== null)
        for (const value of Object.values(headers)) if (typeof value === "string") masks.set(value, MASK);
    }
  }
  if (masks.size === 0) return text;
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && masks.has(node.value)) node.value = masks.get(node.value);
    },
  });
  return doc.toString({ lineWidth: 0 });
}
