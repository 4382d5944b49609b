/**
 * `type = "https"` / `"http"`: a release archive at a URL. Change detection by conditional GET
 * (ETag / Last-Modified in metadata_file, only when they had settled: http-validators.ts); the body is only downloaded by fetch(), extracted into
 * staging as it arrives, and the staged release only handed on once the artifact matches the
 * configured checksum (extract-while-downloading.ts). When the check's GET is answered with the
 * new archive, its body is kept unread for fetch() (held-answer.ts): an update is one request.
 */
import { createHash } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import type { HttpSource as HttpSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import { timerMs } from "../../shared/schema/durations.js";
import { mbSetting } from "../archive/limits.js";
import { downloadFile } from "../download/download.js";
import { DownloadError } from "../download/errors.js";
import { fetchText, type HttpCallOptions, type OpenResponse, probeUrl } from "../download/probe.js";
import { redactUrl } from "../download/redact.js";
import { untrustedCertificateAt } from "../download/untrusted-certificate.js";
import {
  artifactPathFor,
  checksumToVerify,
  installedAlready,
  progressFor,
  removeArtifact,
  signaturePathOf,
} from "./artifact.js";
import {
  findSha256,
  inlineSha256,
  pinnedSha256,
  readChecksumFile,
  type Sha256Sum,
  sha256SumFor,
  withChecksumOrigin,
} from "./checksum.js";
import { companionAlong } from "./companion-along.js";
import { extractWhileDownloading } from "./extract-while-downloading.js";
import { HeldAnswer } from "./held-answer.js";
import { validatorsToKeep } from "./http-validators.js";
import { metadataPath, SourceMetadataStore } from "./metadata.js";
import {
  extractedRelease,
  manifestInside,
  readReleaseVersion,
  shortId,
  updateExtractOptions,
} from "./release-info.js";
import type { FetchedRelease, FetchOptions, ReleaseSource, SourceContext, UpdateCheck } from "./types.js";

const Installed = z.object({
  /** Shown to people: credentials and query values are masked (redactUrl). */
  url: z.string(),
  /**
   * sha256 of the configured URL, to notice it changed. Older files have the URL itself in `url`
   * and no digest; they are still matched, and rewritten without it at the next install.
   */
  urlSha256: z.string().optional(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  /** Our clock when it judged the validators settled (the answer had no Date): see check(). */
  validatorsSeenAtMs: z.number().optional(),
  sha256: z.string(),
  version: z.string().optional(),
  installedAt: z.string(),
});
type Installed = z.infer<typeof Installed>;

export class HttpSource implements ReleaseSource {
  readonly type: "http" | "https";
  private readonly store: SourceMetadataStore<Installed>;
  private readonly pending = new Map<string, Omit<Installed, "installedAt">>();
  private readonly shownUrl: string;
  private readonly urlSha256: string;
  private readonly held = new HeldAnswer();
  /** Our clock just before the check asked for the answer `held` keeps (its Date's stand-in). */
  private heldAskedAtMs = 0;
  /** The checksum file as the check read it: the fetch verifies against it without asking again. */
  private checkedFile: ChecksumText | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: HttpSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.type = cfg.type;
    if (cfg.type === "https" && !cfg.url.startsWith("https://")) {
      throw BadInputError.single("ship.toml", `sources.${name}.url`, 'type = "https" needs an https:// URL');
    }
    this.store = new SourceMetadataStore(
      metadataPath(ctx.stateDir, name, cfg.metadata_file),
      name,
      Installed,
    );
    this.shownUrl = redactUrl(cfg.url);
    this.urlSha256 = createHash("sha256").update(cfg.url).digest("hex");
  }

  async check(): Promise<UpdateCheck> {
    const stored = await this.store.read();
    // The record stands for what is installed only while the config still asks for it: a new url,
    // or a `checksum = "sha256:…"` pinned to another archive, asks unconditionally. A server that
    // reuses an ETag (nginx's is mtime + size) would otherwise answer 304 and keep the old release.
    const sameUrl =
      stored?.urlSha256 !== undefined ? stored.urlSha256 === this.urlSha256 : stored?.url === this.cfg.url;
    const pinned = pinnedSha256(this.cfg.checksum);
    const record = sameUrl && (pinned === undefined || pinned === stored?.sha256) ? stored : undefined;
    const known = record === undefined ? undefined : withTrustedValidators(record, Date.now());
    const current = known === undefined ? undefined : (known.version ?? shortId(`sha256:${known.sha256}`));
    this.checkedFile = undefined;
    if (known !== undefined && known.etag === undefined && known.lastModified === undefined) {
      // No validators were kept (racy, or a weak ETag alone: http-validators.ts), so asking for the
      // archive downloads it. A checksum file names the only archive a run could install: one that
      // names the installed archive decides "up to date" in one small request. (One that lists
      // the release only under the name a redirect leads to is matched by the fetch, which knows it.)
      const { checksum, security } = this.cfg;
      const file =
        checksum === undefined || pinnedSha256(checksum) !== undefined || !security.verify_checksums
          ? undefined
          : await this.checksumFileText();
      const sum = file === undefined ? undefined : findSha256(file.text, this.fileName(), file.from);
      if (sum !== undefined && sum.sha256 === known.sha256)
        return {
          available: false,
          current,
          candidate: current,
          detail: `${this.name}: up to date (${current})`,
        };
      this.checkedFile = file;
    }
    const askedAtMs = Date.now();
    // A run goes on to fetch() what its check found: the answer's body is kept for it. So does a
    // check-only run (readOnly): what a run would do with the release is in the release (its
    // manifest, its checksum), and asking again made every check-only that found one download it
    // twice. The pipeline close()s what no fetch took.
    const probe = await probeUrl(
      this.cfg.url,
      { etag: known?.etag, lastModified: known?.lastModified },
      this.callOptions(),
      true,
    ).catch((err: unknown) => {
      throw (
        notFoundAt(err, this.name, "url") ?? refusedAt(err, this.name, this.cfg) ?? this.untrusted(err) ?? err
      );
    });
    if (probe.status === "changed" && probe.open !== undefined) {
      this.held.hold(probe.open);
      this.heldAskedAtMs = askedAtMs;
    }
    if (probe.status === "not-modified") {
      return {
        available: false,
        current,
        candidate: current,
        detail: `${this.name}: up to date (${current})`,
      };
    }
    const candidate = probe.etag ?? probe.lastModified ?? "new download";
    return {
      available: true,
      current,
      candidate,
      detail: `${this.name}: update available at ${this.shownUrl} (${candidate})`,
    };
  }

  async fetch(stagingDir: string, options?: FetchOptions): Promise<FetchedRelease> {
    try {
      return await this.fetchOnce(stagingDir, options);
    } catch (err) {
      throw (
        notFoundAt(err, this.name, "url") ?? refusedAt(err, this.name, this.cfg) ?? this.untrusted(err) ?? err
      );
    }
  }

  private untrusted(err: unknown): Error | undefined {
    return untrustedCertificateAt(err, this.name, this.cfg.ca_file);
  }

  private async fetchOnce(stagingDir: string, options?: FetchOptions): Promise<FetchedRelease> {
    const held = this.held.take();
    const askedAtMs = held === undefined ? Date.now() : this.heldAskedAtMs;
    let opened = held;
    try {
      // What the check read, taken once: a later fetch (the daemon's next run) reads the file again.
      const file = this.checkedFile ?? (await this.checksumFileText());
      this.checkedFile = undefined;
      let expected = this.expectedSha256(file, opened);
      if (expected === undefined && file !== undefined && opened === undefined) {
        // No line for the url's name: the answer (its body kept for the download) says where a
        // redirect leads, and the file may list the release by that name.
        opened = await this.openRelease(options?.signal);
        expected = this.expectedSha256(file, opened);
      }
      // Still none: sha256SumFor's refusal lists the names the file has.
      if (expected === undefined && file !== undefined)
        sha256SumFor(file.text, this.namesOf(opened), file.from, this.fileNameHint());
      const artifact = await artifactPathFor(this.ctx, this.name);
      const signature = await this.fetchSignature(artifact, opened, options?.signal);
      opened = signature.opened;
      return await this.fetchWith(
        stagingDir,
        { artifact, opened, signedAt: signature.from },
        askedAtMs,
        expected,
        options,
      );
    } finally {
      await opened?.close();
    }
  }

  /** The release's answer, body unread, for the download to read. */
  private async openRelease(signal: AbortSignal | undefined): Promise<OpenResponse | undefined> {
    const probe = await probeUrl(this.cfg.url, {}, this.callOptions(signal), true);
    return probe.status === "changed" ? probe.open : undefined;
  }

  /**
   * The names the release goes by: the url's, then the last part of each url a redirect led to
   * (`latest.tar.gz` → `myapp-1.2.3.tar.gz`, the name a SHA256SUMS beside it lists, → a CDN's
   * `/blobs/9f2c…`: only the last hop's name was matched, and a right SHA256SUMS was refused).
   */
  private namesOf(opened: OpenResponse | undefined): string[] {
    const via = opened?.response.redirectedVia ?? [];
    return this.cfg.filename !== undefined ? [this.fileName()] : [this.fileName(), ...via.map(decodedName)];
  }

  private async fetchWith(
    stagingDir: string,
    { artifact, opened, signedAt }: { artifact: string; opened: OpenResponse | undefined; signedAt: string },
    askedAtMs: number,
    expected: (Sha256Sum & { from: string }) | undefined,
    options?: FetchOptions,
  ): Promise<FetchedRelease> {
    let encoding: string | undefined;
    const { downloaded: result, extracted } = await extractWhileDownloading({
      artifact,
      where: this.shownUrl,
      stagingDir,
      extract: await updateExtractOptions(this.name, this.cfg, this.ctx),
      expectedSha256: expected?.sha256,
      signal: options?.signal,
      download: async (onChunk, signal) => {
        const result = await downloadFile({
          url: this.cfg.url,
          dest: artifact,
          ...(opened === undefined ? {} : { opened }),
          ...this.callOptions(signal),
          maxBytes: Math.floor(this.cfg.max_download_mb * 1024 * 1024),
          maxBytesSetting: mbSetting(`[sources.${this.name}] max_download_mb`, this.cfg.max_download_mb),
          onProgress: progressFor(options, this.fileName(), this.ctx),
          onChunk,
          log: this.ctx.log,
        });
        if (result.status !== "downloaded") throw new Error("unconditional download answered 304");
        encoding = result.contentEncoding;
        return result;
      },
      endedEarly: (downloaded, why) => cutShortByServer(this.shownUrl, downloaded, why),
    }).catch((err: unknown) => {
      throw (
        encodedByServer(err, encoding) ??
        withChecksumOrigin(err, expected, this.fileName(), expected?.from ?? "")
      );
    });
    const staged = extractedRelease(extracted);
    this.ctx.log.info("downloaded and extracted release", {
      source: this.name,
      url: this.shownUrl,
      sha256: result.sha256,
      resumes: result.resumes,
      files: extracted.files,
      bytes: extracted.bytes,
      unchanged: extracted.leftOut,
    });
    const id = `sha256:${result.sha256}`;
    const validators = validatorsToKeep(result, askedAtMs);
    if ("why" in validators)
      this.ctx.log.info("the next check asks for the archive unconditionally", {
        source: this.name,
        url: this.shownUrl,
        reason: validators.why,
      });
    const facts = {
      url: this.shownUrl,
      urlSha256: this.urlSha256,
      ...validators.keep,
      ...("byOurClock" in validators && validators.byOurClock !== undefined
        ? { validatorsSeenAtMs: validators.byOurClock }
        : {}),
      sha256: result.sha256,
      version: await readReleaseVersion(stagingDir),
    };
    if (await installedAlready(this.ctx, id)) {
      // A new url (a mirror, a renamed path) serving the installed archive: nothing to install, and
      // the next check asks the new url conditionally instead of downloading it again.
      if (this.ctx.readOnly !== true)
        await this.store.write({ ...facts, installedAt: new Date().toISOString() });
      await removeArtifact(artifact);
      return { dir: stagingDir, id, artifactSha256: result.sha256, ...staged, installedAlready: true };
    }
    this.pending.set(id, facts);
    return {
      dir: stagingDir,
      id,
      artifactSha256: result.sha256,
      artifactPath: artifact,
      manifestName: manifestInside(this.shownUrl),
      signatureOrigin: redactUrl(signedAt),
      ...staged,
    };
  }

  /** A check's answer no fetch took (the run stopped before its fetch) is dropped now. */
  async close(): Promise<void> {
    this.checkedFile = undefined;
    await this.held.take()?.close();
  }

  async commit(release: FetchedRelease): Promise<void> {
    const facts = this.pending.get(release.id);
    if (facts === undefined) throw new Error(`${this.name}: commit of a release this source did not fetch`);
    await this.store.write({ ...facts, installedAt: new Date().toISOString() });
    await removeArtifact(release.artifactPath);
  }

  /**
   * The configured checksum file's text and where it was read (for messages); undefined when none
   * is configured, it is inline, or verification is off.
   */
  private async checksumFileText(): Promise<ChecksumText | undefined> {
    const where = `sources.${this.name}.checksum`;
    const spec = checksumToVerify(this.cfg.checksum, this.cfg.security, where, this.ctx);
    if (spec === undefined || spec.kind === "inline") return undefined;
    if (!/^https?:\/\//.test(spec.location)) {
      const file = spec.location.startsWith("file://") ? fileURLToPath(spec.location) : spec.location;
      return { text: await readChecksumFile(file, where), from: file };
    }
    // Credentials only travel to the release's own origin, never to a third-party checksum host.
    const sameOrigin = new URL(spec.location).origin === new URL(this.cfg.url).origin;
    const text = await fetchText(spec.location, {
      ...this.callOptions(),
      headers: sameOrigin ? this.cfg.headers : {},
    }).catch((err: unknown) => {
      throw notFoundAt(err, this.name, "checksum") ?? refusedAt(err, this.name, this.cfg, "checksum") ?? err;
    });
    return { text, from: redactUrl(spec.location) };
  }

  /**
   * The configured checksum, and `from`: where it was read (for messages). Undefined when there is
   * none, and when `file` has no line for any name the release goes by (yet: see fetchOnce).
   */
  private expectedSha256(
    file: ChecksumText | undefined,
    opened: OpenResponse | undefined,
  ): (Sha256Sum & { from: string }) | undefined {
    if (file !== undefined) {
      const sum = findSha256(file.text, this.namesOf(opened), file.from);
      return sum === undefined ? undefined : { ...sum, from: file.from };
    }
    // Malformed or off, checksumFileText has said so already.
    const { checksum, security } = this.cfg;
    const sha256 = checksum !== undefined && security.verify_checksums ? inlineSha256(checksum) : undefined;
    return sha256 === undefined ? undefined : { sha256, from: `sources.${this.name}.checksum` };
  }

  /** How a checksum file's line is matched to a download whose URL does not end in its name. */
  private fileNameHint(): string | undefined {
    return this.cfg.filename === undefined
      ? `set filename in [sources.${this.name}] to the name the release has there`
      : undefined;
  }

  /**
   * The release's name as a checksum file lists it: the url's last part decoded, since a name with a
   * space, a `+` or an `é` is percent-encoded in the url (`my%20app.tar.gz`) and never on disk, where
   * `sha256sum *.tar.gz` wrote it.
   */
  private fileName(): string {
    return this.cfg.filename ?? decodedName(this.cfg.url);
  }

  /**
   * `<url>.sig`, fetched only for an agent with [trust] keys (ctx.signatures), else the one beside
   * each url a redirect leads through (companionAlong: `latest.tar.gz` 302s to
   * `myapp-1.2.3.tar.gz`, beside which `ship release sign` wrote its .sig); the release is opened
   * for its redirects only when the first is absent, its body kept for the download. Returns that
   * answer and the .sig's url. None anywhere: the trust check refuses the release as unsigned.
   */
  private async fetchSignature(
    artifact: string,
    opened: OpenResponse | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ opened: OpenResponse | undefined; from: string }> {
    const target = signaturePathOf(artifact);
    await rm(target, { force: true });
    const beside = signatureUrlOf(this.cfg.url);
    if (this.ctx.signatures !== true) return { opened, from: beside };
    let answer = opened;
    // The hops before the chain first left the origin; the configured headers go beside those
    // only, as they went with the redirects (follow-redirects.ts): a hop the chain came back to
    // was chosen by another host, and the .sig beside it was asked with every secret.
    const home = new Set<string>([beside]);
    const found = await companionAlong(
      beside,
      async () => {
        answer ??= await this.openRelease(signal);
        const hops = answer?.response.requestedVia ?? [];
        const left = hops.findIndex((hop) => new URL(hop).origin !== new URL(this.cfg.url).origin);
        return hops.map((hop, i) => {
          if (left !== -1 && i >= left) return signatureUrlOf(hop);
          const url = signatureUrlOf(this.credentialsFor(hop));
          home.add(url);
          return url;
        });
      },
      (url) => this.signatureText(url, signal, url !== beside, home.has(url)),
    );
    if (found === undefined) return { opened: answer, from: beside };
    await writeFile(target, found.found, { mode: 0o600 });
    return { opened: answer, from: found.place };
  }

  /**
   * A .sig's text; undefined when the server has none there. Only 404 / 410 say so: any other
   * answer means the signature could not be read, and reading it as "unsigned" would send the
   * operator after CI instead of the server: 401 / 403 are the credentials (refusedAt, exit 2),
   * 5xx and network faults a failed download naming the .sig URL (exit 1), retried like the artifact.
   * Beside a redirect's hop (`alongHop`) a 401 / 403 is "none here" too, said in a warning: a store
   * whose links are signed for one object (S3, GCS) refuses every other name, a missing .sig
   * included, and a release signed nowhere was refused naming that 403, never as unsigned.
   */
  private async signatureText(
    url: string,
    signal: AbortSignal | undefined,
    alongHop: boolean,
    withHeaders: boolean,
  ): Promise<string | undefined> {
    let text: string;
    try {
      text = await fetchText(url, {
        ...this.callOptions(signal),
        headers: withHeaders ? this.cfg.headers : {},
      });
    } catch (err) {
      if (err instanceof DownloadError && (err.status === 404 || err.status === 410)) return undefined;
      if (alongHop && err instanceof DownloadError && (err.status === 401 || err.status === 403)) {
        this.ctx.log.warn(
          `${redactUrl(url)} refused the request (HTTP ${err.status}): taken as no signature there`,
        );
        return undefined;
      }
      if (err instanceof DownloadError && err.status !== 401 && err.status !== 403)
        throw new DownloadError(
          err.url,
          `${err.reason} (the release's signature; only 404 or 410 means it has none)`,
          err.retryable,
          err.status,
        );
      throw err;
    }
    if (text === "")
      throw new VerificationError(
        redactUrl(url),
        "is empty: the server has a signature file there but nothing in it",
      );
    return text;
  }

  /** A hop on the url's own origin with the url's user:password, which the redirects kept for it. */
  private credentialsFor(hop: string): string {
    const url = new URL(hop);
    const own = new URL(this.cfg.url);
    if (url.origin !== own.origin || url.username !== "") return hop;
    url.username = own.username;
    url.password = own.password;
    return url.toString();
  }

  private callOptions(signal?: AbortSignal): HttpCallOptions {
    return {
      headers: this.cfg.headers,
      caFile: this.cfg.ca_file,
      timeoutMs: timerMs(this.cfg.timeout_seconds),
      timeoutSetting: `[sources.${this.name}] timeout_seconds`,
      deadlineMs: timerMs(this.cfg.max_download_seconds),
      deadlineSetting: `[sources.${this.name}] max_download_seconds`,
      retries: this.cfg.retries,
      retriesSetting: `[sources.${this.name}] retries`,
      retryDelayMs: this.ctx.retryDelayMs,
      signal,
      log: this.ctx.log,
    };
  }
}

/** A url's last part decoded: the name a file served there has on disk. */
function decodedName(url: string): string {
  const last = basename(new URL(url).pathname);
  try {
    return decodeURIComponent(last) || "release";
  } catch {
    // A stray `%` that encodes nothing: the name as written.
    return last || "release";
  }
}

/** A checksum file's text, and where it was read (a redacted URL or a path) for messages. */
interface ChecksumText {
  text: string;
  from: string;
}

/**
 * The record with its validators only when they still vouch: ones our clock judged settled (the
 * answer had no Date) by a run whose clock read later than ours does now are dropped (that clock was
 * ahead, or ours was stepped back since), as the stat index drops such an index.
 */
function withTrustedValidators(record: Installed, nowMs: number): Installed {
  if (record.validatorsSeenAtMs === undefined || record.validatorsSeenAtMs <= nowMs) return record;
  const { etag: _etag, lastModified: _lastModified, validatorsSeenAtMs: _seen, ...rest } = record;
  return rest;
}

/**
 * A server that compresses the file again on the way (`Content-Encoding: gzip` on a .tar.gz, which
 * ship never asks for: it sends no Accept-Encoding) delivers other bytes than the file: the
 * archive read as "nested compression is not supported" and a configured checksum as a mismatch,
 * both blaming the release. The error now says the server did it and what to change there.
 */
function encodedByServer(err: unknown, encoding: string | undefined): VerificationError | undefined {
  if (encoding === undefined || !(err instanceof VerificationError)) return undefined;
  const reason = err.message.slice(err.what.length + 2);
  const change =
    "turn off compression on the fly for this file on the server (a .tar.gz is compressed already)";
  // Compressed twice is certain; a mismatch may also be a wrong checksum from a server that only
  // labels a .tar.gz so (Apache's AddEncoding), whose bytes are the file.
  if (reason === "nested compression is not supported")
    return new VerificationError(
      err.what,
      `${reason}: the server compressed the file again on the way (Content-Encoding: ${encoding}), which ship did not ask for; ${change}`,
    );
  if (!/^(checksum mismatch|not a valid tar archive): /.test(reason)) return undefined;
  return new VerificationError(
    err.what,
    `${reason} (the server sent it with Content-Encoding: ${encoding}, which ship did not ask for: if it compresses the file on the fly, the bytes are not the file; ${change})`,
  );
}

/**
 * An archive that ends early although every byte the server announced arrived: the server's
 * length (or the file it serves) is short, where "not a valid tar archive: unexpected end of file"
 * alone sent the operator after the archive they published. Still exit 2, as every archive that
 * cannot be read (DESIGN.md; issue #15: every entry error is exit 2): ship cannot tell a lying
 * Content-Length from a file cut short on the server, and neither is fixed by retrying at once.
 */
function cutShortByServer(
  url: string,
  downloaded: { bytes: number; announcedBytes?: number },
  why: string,
): VerificationError {
  const { bytes, announcedBytes } = downloaded;
  const reason =
    announcedBytes === undefined
      ? `not a valid tar archive: it ends early (${why}) after ${bytes} bytes, where the server ended the body (it announced no length): the file on the server is cut short, or the connection was cut`
      : `not a valid tar archive: it ends early (${why}) after ${bytes} bytes, all the server announced (Content-Length: ${announcedBytes}): the server's Content-Length is shorter than the file (a proxy, or a server that compresses it as it sends?), or the file on the server is cut short (an upload still running?); compare with the file's size on the server`;
  return new VerificationError(url, reason);
}

/**
 * 401 / 403: the server wants other credentials than the source sends. No retry fixes a missing or
 * wrong token, so it is bad input naming [sources.NAME.headers] (or the url, when none are set),
 * not "download failed: HTTP 401" behind exit 1 on every run.
 */
function refusedAt(
  err: unknown,
  source: string,
  cfg: HttpSourceConfig,
  key: "url" | "checksum" = "url",
): BadInputError | undefined {
  if (!(err instanceof DownloadError) || (err.status !== 401 && err.status !== 403)) return undefined;
  const headers = Object.keys(cfg.headers);
  const { redirectedTo } = err;
  // The headers go to the url's own host only (follow-redirects.ts): another host that refused
  // never saw them, and "check or renew them" (or "set them") sent the operator the wrong way.
  const refuser = new URL(redirectedTo ?? err.url);
  if (refuser.origin !== new URL(cfg.url).origin) {
    const only = `ship sends [sources.${source}.headers] to ${new URL(cfg.url).host} only, never to another host`;
    return BadInputError.single(
      "ship.toml",
      `sources.${source}.${key}`,
      redirectedTo === undefined
        ? `${err.url} refused the request (HTTP ${err.status}): ${only}; serve it there without credentials, or from that host`
        : `${err.url} redirects to ${redirectedTo}, which refused the request (HTTP ${err.status}): ${only}; point ${key} at where the file is, or have the server redirect to a link that needs no credentials (a signed link that expired?)`,
    );
  }
  const at = redirectedTo === undefined ? "" : ` at ${redirectedTo}, where it redirects`;
  if (headers.length === 0)
    return BadInputError.single(
      "ship.toml",
      `sources.${source}.url`,
      `${err.url} refused the request (HTTP ${err.status}${at}): it needs credentials; set them in [sources.${source}.headers]`,
    );
  return BadInputError.single(
    "ship.toml",
    `sources.${source}.headers`,
    `${err.url} refused the credentials sent (HTTP ${err.status}${at}; headers ${headers.join(", ")}): check or renew them`,
  );
}

/**
 * 404 / 410 for a URL the config names: the server answered, and has nothing there. A retry will
 * not fix a wrong key, so it is bad input naming it (exit 2), not a download failure (exit 1).
 */
function notFoundAt(err: unknown, source: string, key: "url" | "checksum"): BadInputError | undefined {
  if (!(err instanceof DownloadError) || (err.status !== 404 && err.status !== 410)) return undefined;
  return BadInputError.single(
    "ship.toml",
    `sources.${source}.${key}`,
    err.redirectedTo === undefined
      ? `${err.url} is not on the server (HTTP ${err.status})`
      : `${err.url} redirects to ${err.redirectedTo}, which is not on the server (HTTP ${err.status})`,
  );
}

/**
 * A url's path plus `.sig`, its query kept (a presigned URL's token signs for both):
 * `a.tar.gz?token=T` is signed by `a.tar.gz.sig?token=T`.
 */
function signatureUrlOf(raw: string): string {
  const url = new URL(raw);
  url.pathname = `${url.pathname}.sig`;
  return url.toString();
}
