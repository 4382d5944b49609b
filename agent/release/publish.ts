/**
 * `ship release publish`: registers a release with the hub. An archive is streamed to
 * PUT /api/v1/artifacts first; an external URL or a git commit is only referenced. The token goes
 * in the Authorization header and is never printed.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { type Dispatcher, request } from "undici";
import * as z from "zod";
import type { PublishRelease } from "../../shared/api/bodies.js";
import { BadInputError } from "../../shared/errors.js";
import { hubAddressProblem } from "../../shared/hub-address.js";
import type { ReleaseSourceRef } from "../../shared/protocol/messages.js";
import { checkSignatureOfRelease } from "../../shared/signing/published-release.js";
import { parseSignature } from "../../shared/signing/signature.js";
import { tokenTextProblem } from "../../shared/token-text.js";
import { countedReadStream } from "../download/counted-read.js";
import { createHttpClient } from "../download/dispatcher.js";
import { networkErrorText } from "../download/errors.js";
import type { ProgressCallback } from "../download/progress.js";
import { certificateRefusal } from "../download/untrusted-certificate.js";
import { hashFile } from "../tree/hash-file.js";
import { HubRefusedError, ReleaseFailedError } from "./errors.js";
import { readInputFile } from "./read-input.js";

export type PublishSource =
  | { kind: "artifact"; path: string }
  | { kind: "url"; url: string; sha256: string }
  | { kind: "sftp"; remotePath: string; sha256: string }
  | { kind: "git"; commit: string; tag?: string };

export interface PublishOptions {
  hubUrl: string;
  token: string;
  app: string;
  version: string;
  source: PublishSource;
  manifestText: string;
  /** Where the manifest was read (a file, or ARCHIVE!update-manifest.yaml): the hub's warnings name it. */
  manifestFile: string;
  /** The signature document's text (an ARTIFACT.sig file), checked against this release first. */
  signatureText?: string;
  /** Told the archive's bytes uploaded so far, of its size. */
  onProgress?: ProgressCallback;
  /** --ca-file: the PEM certificate of the private CA that signed the hub's certificate. */
  caFile?: string;
}

/** How this command reaches the hub: with the operator's CA, when given. */
interface HubLink {
  dispatcher?: Dispatcher;
  caFile?: string;
}

export interface PublishedRelease {
  id: string;
  app: string;
  version: string;
  source: ReleaseSourceRef;
  /** The hub held this very release already (a retried publish): nothing was changed. */
  alreadyPublished: boolean;
  /** What the hub's check of the manifest warns about (an unknown key), naming `manifestFile`. */
  warnings: string[];
}

function endpoint(hubUrl: string, path: string): string {
  return `${hubUrl.replace(/\/+$/, "")}/api/v1${path}`;
}

async function hubReason(body: { text(): Promise<string> }): Promise<string> {
  const text = await body.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: the raw text (a proxy's error page) is the best reason there is
  }
  return text.slice(0, 500) || "no reason given";
}

/**
 * A hub certificate this host cannot verify (a private CA, or --hub naming a host the certificate
 * is not for) is fixed by a flag, not by trying again: it was exit 1 "cannot reach the hub: self-
 * signed certificate", with nothing to pass, since publish had no CA option.
 */
function untrustedHub(e: unknown, url: string, caFile: string | undefined): BadInputError | undefined {
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  const refusal = certificateRefusal(code);
  const origin = new URL(url).origin;
  if (refusal === "untrusted")
    return BadInputError.single(
      "--ca-file",
      "",
      caFile === undefined
        ? `is needed: the hub's certificate at ${origin} is not signed by a CA this host trusts (${code}); pass --ca-file with the certificate (PEM) of the CA that signed it`
        : `${caFile} is not the certificate of the CA that signed the hub's at ${origin} (${code}); give that CA's (PEM)`,
    );
  if (refusal === "wrong-name")
    return BadInputError.single(
      "--hub",
      "",
      `the hub's certificate at ${origin} is not for this host name (${code}); name the hub in --hub as its certificate does`,
    );
  return undefined;
}

async function send(
  what: string,
  url: string,
  init: Parameters<typeof request>[1] & { token: string },
  link: HubLink,
): Promise<{ status: number; body: unknown }> {
  const { token, headers, ...rest } = init ?? { token: "" };
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      ...rest,
      ...(link.dispatcher === undefined ? {} : { dispatcher: link.dispatcher }),
      headers: { ...headers, authorization: `Bearer ${token}` },
    });
  } catch (e) {
    throw (
      untrustedHub(e, url, link.caFile) ??
      new ReleaseFailedError(what, `cannot reach the hub at ${new URL(url).origin}: ${networkErrorText(e)}`)
    );
  }
  if (response.statusCode >= 300)
    throw new HubRefusedError(response.statusCode, what, await hubReason(response.body));
  return { status: response.statusCode, body: await response.body.json() };
}

async function uploadArtifact(o: PublishOptions, link: HubLink, path: string, sha256: string): Promise<void> {
  const { size } = await stat(path);
  const answer = await send(
    "PUT /api/v1/artifacts",
    endpoint(o.hubUrl, "/artifacts"),
    {
      method: "PUT",
      token: o.token,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(size),
        "x-sha256": sha256,
      },
      body: o.onProgress === undefined ? createReadStream(path) : countedReadStream(path, o.onProgress),
    },
    link,
  );
  const stored = (answer.body as { sha256?: unknown }).sha256;
  if (stored !== sha256)
    throw new ReleaseFailedError("PUT /api/v1/artifacts", `the hub stored ${String(stored)}`);
}

/** A signature for another release is caught here rather than by every agent later. */
function checkSignatureMatches(o: PublishOptions, source: ReleaseSourceRef): void {
  if (o.signatureText === undefined) return;
  checkSignatureOfRelease(o.signatureText, {
    app: o.app,
    version: o.version,
    manifest: o.manifestText,
    source,
  });
}

async function resolveSource(o: PublishOptions): Promise<ReleaseSourceRef> {
  const s = o.source;
  if (s.kind === "git")
    return { type: "git", commit: s.commit, ...(s.tag === undefined ? {} : { tag: s.tag }) };
  if (s.kind === "sftp") return { type: "sftp", remote_path: s.remotePath, sha256: s.sha256.toLowerCase() };
  if (s.kind === "url") {
    const type = s.url.startsWith("https://") ? "https" : "http";
    return { type, url: s.url, sha256: s.sha256.toLowerCase() };
  }
  const sha256 = await hashFile(s.path).catch((e: Error) => {
    throw BadInputError.single(s.path, "--artifact", `cannot read: ${e.message}`);
  });
  return { type: "hub", sha256 };
}

export async function publishRelease(o: PublishOptions): Promise<PublishedRelease> {
  const source = await resolveSource(o);
  checkSignatureMatches(o, source);
  // 300 s, undici's default: an upload's answer comes after the hub hashed and stored it. Always
  // our client, for the CA file and for the environment's proxy (https_proxy) of a CI runner.
  const client = await createHttpClient({
    ...(o.caFile === undefined ? {} : { caFile: o.caFile }),
    timeoutMs: 300_000,
  });
  try {
    return await publishOver(
      { dispatcher: client.dispatcher, ...(o.caFile === undefined ? {} : { caFile: o.caFile }) },
      o,
      source,
    );
  } finally {
    await client.close();
  }
}

/** The publish flag each field of the POST /releases body comes from. */
const PUBLISH_FLAGS = {
  "source.url": "--url",
  "source.sha256": "--sha256",
  "source.remote_path": "--remote-path",
  "source.commit": "--git-commit",
  "source.tag": "--git-tag",
  app: "--app",
  version: "--version",
  signature: "--signature",
} as const;

/** The hub names the API's fields (`body.source.url`); the operator typed flags (`--url`). */
function flagNamed(e: unknown): unknown {
  if (!(e instanceof HubRefusedError)) return e;
  const said = e.hubReason.replace(/\bbody\.(source\.\w+|app|version|signature)\b/g, (field, key: string) =>
    key in PUBLISH_FLAGS ? PUBLISH_FLAGS[key as keyof typeof PUBLISH_FLAGS] : field,
  );
  return new HubRefusedError(e.status, e.request, said);
}

async function publishOver(
  link: HubLink,
  o: PublishOptions,
  source: ReleaseSourceRef,
): Promise<PublishedRelease> {
  try {
    if (o.source.kind !== "artifact" || source.type !== "hub") return await postRelease(link, o, source);
    // Asked before the archive goes: a refusal (a manifest over the hub's limit, a version held by
    // another build, a refused token) came only after the whole upload, and the hub kept that
    // unused copy for a day; the same release again (a retried job) needs no upload at all.
    const held = await dryRun(link, o, source);
    if (held !== undefined) return held;
    await uploadArtifact(o, link, o.source.path, source.sha256);
    return await postRelease(link, o, source);
  } catch (e) {
    throw flagNamed(e);
  }
}

/** What `POST /releases` answers: the release (published now or before), or a dry run's all-clear. */
const Warnings = z.array(z.string()).optional();
const PublishAnswer = z.union([
  z.object({ dry_run: z.literal(true), warnings: Warnings }),
  z.object({ id: z.string(), warnings: Warnings }),
]);

/** The hub's answer to a release naming an artifact it does not hold. */
const NO_ARTIFACT = /^body\.source\.sha256: no such artifact/;

/**
 * `POST /releases?dry_run=true`: every check of the publish, nothing stored. The release when the
 * hub holds this very one already (nothing to upload), undefined when it would publish it.
 */
async function dryRun(
  link: HubLink,
  o: PublishOptions,
  source: ReleaseSourceRef,
): Promise<PublishedRelease | undefined> {
  const answer = await sendRelease(link, o, source, "?dry_run=true").catch((e: unknown) => {
    // A hub from before ?dry_run publishes for real, and wants the artifact first.
    if (e instanceof HubRefusedError && NO_ARTIFACT.test(e.hubReason)) return undefined;
    throw e;
  });
  if (answer === undefined || !("id" in answer.body)) return undefined;
  return publishedAs(o, source, answer.status, answer.body);
}

async function postRelease(
  link: HubLink,
  o: PublishOptions,
  source: ReleaseSourceRef,
): Promise<PublishedRelease> {
  const answer = await sendRelease(link, o, source, "");
  if (!("id" in answer.body))
    throw new ReleaseFailedError("POST /api/v1/releases", "the hub answered without an id");
  return publishedAs(o, source, answer.status, answer.body);
}

function publishedAs(
  o: PublishOptions,
  source: ReleaseSourceRef,
  status: number,
  answer: { id: string; warnings?: string[] | undefined },
): PublishedRelease {
  // 200, not 201: the hub holds this very release (manifest, source, signature) from an earlier try.
  return {
    id: answer.id,
    app: o.app,
    version: o.version,
    source,
    alreadyPublished: status === 200,
    warnings: (answer.warnings ?? []).map((w) => manifestNamed(w, o.manifestFile)),
  };
}

/**
 * The hub names the manifest it checked `manifest` (`warning: manifest:62:3 rollback…`); CI's log
 * names the file it came from, as `ship --test-manifest` would.
 */
function manifestNamed(warning: string, file: string): string {
  return warning.replace(
    /^(warning: )?manifest(?=[: ])/,
    (_all, prefix: string | undefined) => `${prefix ?? ""}${file}`,
  );
}

async function sendRelease(
  link: HubLink,
  o: PublishOptions,
  source: ReleaseSourceRef,
  query: string,
): Promise<{ status: number; body: z.infer<typeof PublishAnswer> }> {
  const body: PublishRelease = {
    app: o.app,
    version: o.version,
    manifest: o.manifestText,
    source,
    ...(o.signatureText === undefined ? {} : { signature: JSON.stringify(parseSignature(o.signatureText)) }),
  };
  const answer = await send(
    "POST /api/v1/releases",
    endpoint(o.hubUrl, `/releases${query}`),
    {
      method: "POST",
      token: o.token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    link,
  );
  const parsed = PublishAnswer.safeParse(answer.body);
  if (!parsed.success)
    throw new ReleaseFailedError("POST /api/v1/releases", "the hub answered without an id");
  return { status: answer.status, body: parsed.data };
}

/** `--hub` as hubAddressProblem reads it, never echoed (it may hold a password). */
export function checkHubUrl(raw: string): string {
  const problem = hubAddressProblem(raw);
  if (problem !== undefined) throw BadInputError.single("--hub", "", problem);
  return raw;
}

/** The token from --token or --token-file (trimmed); exactly one of them. */
export async function readToken(token: string | undefined, tokenFile: string | undefined): Promise<string> {
  if ((token === undefined) === (tokenFile === undefined)) {
    throw BadInputError.single("--token", "", "or --token-file: give exactly one");
  }
  // Two lines, or "Bearer …": it read as "cannot reach the hub: invalid authorization header".
  const [text, from] =
    token !== undefined
      ? [token.trim(), "--token"]
      : [(await readInputFile(tokenFile as string, "--token-file")).trim(), `--token-file ${tokenFile}`];
  const unusable = tokenTextProblem(text);
  if (unusable !== undefined) throw BadInputError.single(from, "", unusable);
  return text;
}
