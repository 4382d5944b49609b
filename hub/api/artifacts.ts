import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Request, type Response, Router } from "express";
import type { Logger } from "../../shared/log.js";
import { HeldPerToken } from "../auth/held-per-token.js";
import { budgetsPer } from "../auth/minute-budget.js";
import {
  actorOf,
  countedElsewhere,
  principalOf,
  refuseWhileArriving,
  requireRole,
} from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import { ROLLBACK_SENT_STATES, UNSENT_DEPLOYMENT_STATES } from "../rollouts/states.js";
import { isoTime, type ShownTime } from "../shown-time.js";
import { ArtifactEmpty, ArtifactHashMismatch, ArtifactTooLarge } from "../store/artifact-intake.js";
import type { AsyncStore, StoredArtifactInfo, StoreOps } from "../store/async-store.js";
import type { ApiDeps } from "./deps.js";
import { notModified } from "./not-modified.js";
import { expectedUploadHash } from "./upload-hash.js";

/**
 * An upload or download lasts as long as its bytes take (minutes for a big artifact on a slow
 * link): like the agent channel and event streams it is a live session, cut when its token is
 * revoked or expires. Checked only at the start, a revoked token went on downloading (or uploading
 * and then publishing) to the end.
 */
function whileTokenInForce(deps: ApiDeps, req: Request, res: Response): void {
  const session = deps.sessions.open(principalOf(res), (reason) => {
    // An upload still arriving is told why (`ship release publish` printed "socket hang up").
    if (refuseWhileArriving(req, res, reason)) return;
    req.destroy();
    res.destroy();
  });
  res.once("close", () => session.end());
}

/**
 * An agent token reads only artifacts of releases the hub has sent that agent (to install, or to
 * go back to): one stolen agent token must not download every app the hub holds. The release to go
 * back to counts only once a rollback instruction was sent, and only when it is of the same app:
 * it is what the agent's hello claims to run, and a hello that named another app's release (or a
 * newer one of its own app) reached that artifact as soon as any update of its app was sent.
 */
async function agentWasSent(
  store: StoreOps,
  known: ReleaseArtifacts,
  agentId: string,
  sha256: string,
): Promise<boolean> {
  const hashOf = async (id: string | null): Promise<ReleaseArtifact> => {
    if (id === null) return {};
    const cached = known.get(id);
    if (cached !== undefined) return cached;
    const release = await store.getRelease(id);
    if (release === undefined) return {};
    const found = {
      app: release.app,
      sha256: release.source.type === "hub" ? release.source.sha256 : undefined,
    };
    if (known.size >= MAX_KNOWN_RELEASES) known.clear();
    known.set(id, found);
    return found;
  };
  for (const d of await store.listDeployments({ agentId })) {
    if (UNSENT_DEPLOYMENT_STATES.includes(d.state)) continue;
    const desired = await hashOf(d.desiredRelease);
    if (desired.sha256 === sha256) return true;
    if (!ROLLBACK_SENT_STATES.includes(d.state)) continue;
    const previous = await hashOf(d.previousRelease);
    if (previous.sha256 === sha256 && previous.app === desired.app) return true;
  }
  return false;
}

interface ReleaseArtifact {
  app?: string;
  sha256?: string | undefined;
}

/**
 * Each release's app and artifact, by release id, as `agentWasSent` read them: a release never
 * changes once published, and reading each of an agent's releases whole (a manifest of up to 64
 * KiB each) for every download cost 60–170 ms of the hub's event loop for an agent with 2,000
 * deployments; a wave of agents downloading at once held the hub for seconds.
 */
type ReleaseArtifacts = Map<string, ReleaseArtifact>;
/** Enough for every release of a big hub's history; past it the map starts again. */
const MAX_KNOWN_RELEASES = 50_000;

/**
 * Artifacts found sent to each agent, the last few per agent: a release sent stays sent, and the
 * check read the agent's deployments on every request, so one agent token looping HEAD (or a
 * 1-byte Range) on an artifact it was sent cost the hub milliseconds of its event loop each.
 */
class SentArtifacts {
  private readonly byAgent = new Map<string, string[]>();

  has(agentId: string, sha256: string): boolean {
    return this.byAgent.get(agentId)?.includes(sha256) ?? false;
  }

  add(agentId: string, sha256: string): void {
    const known = this.byAgent.get(agentId) ?? [];
    this.byAgent.set(agentId, [sha256, ...known].slice(0, SENT_KEPT_PER_AGENT));
  }
}
/** An update and the release it may go back to, and a few before. */
const SENT_KEPT_PER_AGENT = 4;

const SHA256 = /^[0-9a-f]{64}$/;
/** Listeners a download's response may hold (see sendArtifact): ours and pipeline's, with room. */
const CLOSE_LISTENERS = 32;

/**
 * Downloads one token may have under way at once. Each holds a socket, an open artifact and its
 * buffers for as long as the client takes to read: one token opened 1,500 downloads that read
 * nothing, and the hub held 1,000 descriptors and 330 MB while /healthz waited 2 s. An agent
 * downloads one release at a time.
 */
export const MAX_DOWNLOADS_PER_TOKEN = 20;
/**
 * Uploads one token may have under way at once: each writes up to max_artifact_mb to the hub's
 * disk for as long as its client takes, so one CI token's many slow uploads filled the disk.
 */
export const MAX_UPLOADS_PER_TOKEN = 20;

/**
 * Artifact requests an agent token may be refused a minute (per token issued, its renewals
 * included). Each refusal cost the check against the agent's deployments (milliseconds of the event
 * loop for an agent with years of history): 16 loops asking for hashes never sent held /healthz
 * 1.2 s. An agent asks only for what it was sent, so it is not refused in the first place.
 */
export const MAX_REFUSED_ARTIFACTS_PER_MINUTE = 60;

/**
 * Counts this request among the token's transfers of `held` until it closes (per token the
 * operator issued: an agent's renewals are still valid beside it); 429 when they are all taken.
 */
function holdTransfer(held: HeldPerToken, res: Response, what: "downloads" | "uploads"): void {
  const give = held.take(principalOf(res).issuedJti);
  if (give === undefined) {
    res.setHeader("Retry-After", "10");
    // An upload's body is not read: the connection cannot carry another request after it.
    res.setHeader("Connection", "close");
    throw new HubRequestError(
      429,
      `this token has ${held.max} artifact ${what} under way already (at most ${held.max}); finish or close one, or use another token`,
    );
  }
  res.once("close", give);
  countedElsewhere(res);
}

/**
 * The byte range to send, or "all", or undefined when the range cannot be satisfied. A Range
 * whose If-Range names another version is answered whole, as RFC 9110 asks (content-addressed
 * artifacts never change, so only a foreign validator differs).
 */
function rangeOf(req: Request, artifact: StoredArtifactInfo, etag: string, modified: string) {
  if (req.headers.range === undefined) return "all" as const;
  const ifRange = req.headers["if-range"];
  if (ifRange !== undefined && ifRange !== etag && ifRange !== modified) return "all" as const;
  const ranges = req.range(artifact.size, { combine: true });
  // -2: malformed, ignored like a server without Range support; -1: unsatisfiable. Several ranges
  // (no multipart answers here) or a unit other than bytes are ignored too, as RFC 9110 allows:
  // refused, a satisfiable request was told "range not satisfiable".
  if (ranges === -2 || ranges === undefined) return "all" as const;
  if (ranges === -1) return undefined;
  if (ranges.type !== "bytes" || ranges.length !== 1) return "all" as const;
  const [only] = ranges;
  return only ? { start: only.start, end: only.end + 1 } : undefined;
}

/** The artifact's ETag and Last-Modified: a 304 and a 200 or 206 carry them alike. */
function setValidators(res: Response, etag: string, modified: string): void {
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("ETag", etag);
  res.setHeader("Last-Modified", modified);
}

async function sendArtifact(deps: ApiDeps, req: Request, res: Response, artifact: StoredArtifactInfo) {
  const etag = `"${artifact.sha256}"`;
  // Stamped on the hub's monotonic clock: shown on the host's, as every other time it serves.
  const modified = new Date((deps.shownTime ?? isoTime)(artifact.created)).toUTCString();
  if (notModified(req.headers, etag, modified)) {
    setValidators(res, etag, modified);
    res.status(304).end();
    return;
  }
  const range = rangeOf(req, artifact, etag, modified);
  if (range === undefined) {
    res.setHeader("Content-Range", `bytes */${artifact.size}`);
    throw new HubRequestError(416, `range not satisfiable: artifact is ${artifact.size} bytes`);
  }
  // Opened for HEAD too, before any header is set: a HEAD answered from the row alone said 200 with
  // the artifact's ETag and size for a file gone from the store while GET said 404 (a health probe
  // was misled), and a 404 carried the ETag and Content-Range of bytes it did not serve.
  const body = await deps.store.readArtifact(artifact.sha256, range === "all" ? undefined : range);
  if (!body) {
    // Listed, but its content is gone from the store: said to the operator (the hub's log) and to
    // the caller, with the repair, rather than as a bare ENOENT and a 500.
    deps.log.error("artifact content missing", { sha256: artifact.sha256 });
    throw new HubRequestError(
      404,
      `artifact ${artifact.sha256}: its content is missing from the hub's artifact store (deleted or lost since its upload); upload the file again (PUT /api/v1/artifacts) to serve it`,
    );
  }
  setValidators(res, etag, modified);
  res.setHeader("Content-Type", "application/octet-stream");
  if (range === "all") res.setHeader("Content-Length", String(artifact.size));
  else {
    res.status(206);
    res.setHeader("Content-Length", String(range.end - range.start));
    res.setHeader("Content-Range", `bytes ${range.start}-${range.end - 1}/${artifact.size}`);
  }
  // Closed unread: opened and never read, each HEAD kept the artifact's file open for good, and a
  // loop of them (any token that may read the artifact) ran the hub out of descriptors.
  if (req.method === "HEAD") {
    closeUnread(body);
    res.end();
    return;
  }
  // Streamed from the store (a file in SQLite mode, 1 MiB rows in PostgreSQL mode): memory holds a
  // few chunks whatever the size, and any hub of a cluster serves any artifact.
  // Each of the hub's bounds on this download (idle connections, requests and transfers per token,
  // the token's live session) listens for its close, and pipeline adds its own: past node's 10 by
  // default, every download printed "Possible EventEmitter memory leak detected" to the hub's stderr.
  res.setMaxListeners(CLOSE_LISTENERS);
  try {
    await pipeline(body, res);
  } catch (error) {
    // The client closed the connection before the body's end (an agent stopped, or resumes with
    // Range later): not a hub failure, and no answer can be sent any more. Logged as an error it
    // was a false alarm for anyone watching the hub's errors.
    if ((error as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE" || !res.destroyed) throw error;
    deps.log.info("artifact download closed by the client before its end", {
      sha256: artifact.sha256,
      range: range === "all" ? "all" : `${range.start}-${range.end - 1}`,
    });
  }
}

/** Releases an opened artifact body that is not sent (its file descriptor, its PostgreSQL reads). */
function closeUnread(body: AsyncIterable<Buffer>): void {
  if (body instanceof Readable) body.destroy();
  else void body[Symbol.asyncIterator]().return?.();
}

/**
 * An artifact is stored as the bytes that arrive, under their sha256. A body sent with a
 * Content-Encoding (`gzip` over a .tar.gz) was stored compressed under the compressed bytes' hash:
 * 201 with a sha256 that is not the file's, or a 400 saying the file "hashes to" a value it does not.
 */
function refuseContentEncoding(encoding: string | undefined): void {
  // A blank header is no encoding, as body-parser reads it for a JSON body.
  if (encoding === undefined || ["", "identity"].includes(encoding.trim().toLowerCase())) return;
  throw new HubRequestError(
    415,
    `content-encoding: ${JSON.stringify(encoding.slice(0, 100))}: an artifact is stored as the bytes sent, under their sha256; send the file as it is, without Content-Encoding (a .tar.gz is compressed already)`,
  );
}

/** A write the store refused for want of room: the file system's (ENOSPC, EDQUOT) or PostgreSQL's (53100). */
function isStorageFull(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === "ENOSPC" || code === "EDQUOT" || code === "53100";
}

/**
 * Removes the artifacts uploaded before `before` that no release names (see
 * AsyncStore.deleteUnusedArtifacts), and says so. Each hub of a cluster runs it; they remove each
 * artifact once.
 */
export async function removeUnusedArtifacts(
  store: AsyncStore,
  log: Logger,
  before: number,
  shown: ShownTime = isoTime,
): Promise<void> {
  try {
    const gone = await store.deleteUnusedArtifacts(before);
    if (gone.length > 0)
      log.info("removed artifacts no release names", {
        removed: gone.length,
        sha256: gone.slice(0, 20),
        uploadedBefore: shown(before),
      });
  } catch (error) {
    log.error("removing artifacts no release names failed", { error: String(error) });
  }
}

export function artifactRoutes(deps: ApiDeps): Router {
  const { store, tokens } = deps;
  const router = Router();
  const downloads = new HeldPerToken(MAX_DOWNLOADS_PER_TOKEN);
  const uploads = new HeldPerToken(MAX_UPLOADS_PER_TOKEN);
  const releaseArtifacts: ReleaseArtifacts = new Map();
  const refusedOf = budgetsPer(MAX_REFUSED_ARTIFACTS_PER_MINUTE, deps.now);
  const sentTo = new SentArtifacts();

  // Streamed into the store while hashing (never held whole); a cut or refused upload leaves
  // nothing under a sha256 name. CI uploads (and publishes); operators roll out what CI published.
  router.put("/artifacts", requireRole(tokens, "ci"), async (req, res) => {
    const expected = expectedUploadHash(req.headers, req.query);
    refuseContentEncoding(req.headers["content-encoding"]);
    const tooLarge = () =>
      new HubRequestError(
        413,
        `body: the artifact is over the hub's max_artifact_mb = ${deps.maxArtifactBytes / 1024 / 1024} (hub.toml)`,
      );
    // Said before a byte is read when the request declares its size: a 5 GB upload to a hub that
    // takes 4 GB was read (and written to disk) up to the limit first, minutes on an ordinary link.
    if (Number(req.headers["content-length"] ?? 0) > deps.maxArtifactBytes) {
      res.setHeader("Connection", "close");
      throw tooLarge();
    }
    holdTransfer(uploads, res, "uploads");
    whileTokenInForce(deps, req, res);
    const now = deps.now();
    let stored: StoredArtifactInfo;
    try {
      stored = await store.writeArtifact(req, {
        maxBytes: deps.maxArtifactBytes,
        created: now,
        ...(expected === undefined ? {} : { expectedSha256: expected.sha256 }),
        // The session check runs about once a second: an upload ending within a second of
        // `token revoke` was answered 201 and logged as uploaded by the revoked token. Checked
        // before it is stored, so the refused upload leaves nothing on the hub's disk.
        accept: () => tokens.stillInForce(principalOf(res)),
      });
    } catch (error) {
      if (error instanceof ArtifactTooLarge) throw tooLarge();
      if (error instanceof ArtifactEmpty)
        throw new HubRequestError(400, "body: the artifact is empty (0 bytes); upload the release archive");
      if (error instanceof ArtifactHashMismatch)
        throw new HubRequestError(
          400,
          `${expected?.field ?? "header.x-sha256"}: upload hashes to ${error.actual}, not ${expected?.sha256}`,
        );
      if (isStorageFull(error)) {
        // The hub's operator must act, and CI is told why: it got "500 internal error".
        deps.log.error("an artifact upload found no room: the hub's disk is full", { error: String(error) });
        throw new HubRequestError(
          507,
          "the hub's disk is full: the artifact could not be stored (nothing of it was kept); free space on the hub, then upload again",
        );
      }
      // The client went away before the last byte (a CI job cancelled, a link cut), or the upload
      // was refused while it arrived (its token revoked): nothing was kept, and no answer can reach
      // it. Passed on, its ECONNRESET was logged as an ERROR through the database-outage line
      // ("request failed … aborted"), which also hid a real outage's first line that minute.
      // (The connection is what tells: a store failure mid-upload ends the request's reading too.)
      if (req.socket.destroyed && !req.complete) {
        deps.log.info("artifact upload closed before its end; nothing was kept", { error: String(error) });
        res.destroy();
        return;
      }
      throw error;
    }
    await store.appendEvent({
      at: now,
      actor: actorOf(res),
      kind: "artifact.uploaded",
      subject: stored.sha256,
      data: { size: stored.size },
    });
    res.status(201).json({ sha256: stored.sha256, size: stored.size });
  });

  router.get("/artifacts/:sha256", requireRole(tokens, "agent", "ci", "operator"), async (req, res) => {
    const sha256 = req.params.sha256 as string;
    if (!SHA256.test(sha256))
      throw new HubRequestError(400, "params.sha256: must be 64 lowercase hex digits");
    const principal = principalOf(res);
    if (principal.role === "agent") {
      const refused = refusedOf(principal.issuedJti);
      if (refused.spent()) {
        res.setHeader("Retry-After", "60");
        throw new HubRequestError(
          429,
          `this token was refused ${MAX_REFUSED_ARTIFACTS_PER_MINUTE} artifacts in the last minute (at most ${MAX_REFUSED_ARTIFACTS_PER_MINUTE}); it may download only artifacts of releases its agent was sent`,
        );
      }
      const agentId = principal.agentId ?? "";
      if (!sentTo.has(agentId, sha256)) {
        if (!(await agentWasSent(store, releaseArtifacts, agentId, sha256))) {
          refused.take();
          throw new HubRequestError(403, `artifact ${sha256} belongs to no release this agent was sent`);
        }
        sentTo.add(agentId, sha256);
      }
    }
    const artifact = await store.getArtifactInfo(sha256);
    if (!artifact) throw new HubRequestError(404, `artifact ${sha256} not found`);
    holdTransfer(downloads, res, "downloads");
    whileTokenInForce(deps, req, res);
    // Range requests answer 206, so agents resume cut downloads (If-Range with the ETag).
    await sendArtifact(deps, req, res, artifact);
  });

  return router;
}
