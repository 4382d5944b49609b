import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { Router } from "express";
import * as z from "zod";
import { NoFields, PublishRelease } from "../../shared/api/bodies.js";
import { BadInputError, formatIssue } from "../../shared/errors.js";
import { HUB_MANIFEST_LIMITS } from "../../shared/manifest/limits.js";
import { parseManifestText } from "../../shared/manifest/load.js";
import { checkSignatureOfRelease } from "../../shared/signing/published-release.js";
import { SignatureError } from "../../shared/signing/signature.js";
import { compareVersions } from "../../shared/versions.js";
import { agoText } from "../ago-text.js";
import { actorOf, requireRole } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import { isoTime } from "../shown-time.js";
import type { StoreOps } from "../store/async-store.js";
import { releaseById } from "../store/release-by-id.js";
import type { ReleaseCursor, ReleaseRecord } from "../store/store.js";
import type { ApiDeps } from "./deps.js";
import { manifestNotText } from "./manifest-text.js";
import { trimIdParam } from "./path-id.js";
import { cursorText, queryCount, queryCursor, queryFlag, queryWord } from "./query-params.js";
import { releaseForPeople, releaseListed } from "./release-view.js";
import { parseRequest } from "./validate.js";
import { versionConflict } from "./version-conflict.js";

const ListQuery = z.strictObject({
  app: queryWord().optional(),
  /** With `app`: that app's release of this version, as versions compare (`v2.0.0` finds 2.0.0). */
  version: queryWord().optional(),
  limit: queryCount(1, 1000).default(100),
  /** `false`: each release without its manifest text (its `description` only), for a listing to show. */
  manifest: queryFlag().default(true),
  after: queryCursor().optional(),
});

/**
 * A page holds at most this much manifest text: a release's manifest may hold 64 KiB, so 1,000 of
 * them answered ~60 MB at once, and a few clients that did not read their answers held the hub's
 * memory. Past it the page ends early, with `more` and `next`, as it does at `limit`.
 */
export const RELEASE_PAGE_BYTES = 4 << 20;
/** Read from the store in slices, so a page never holds more than it answers plus one slice. */
const SLICE = 50;

/**
 * A page of the listing: newest first, cut at `limit` or at RELEASE_PAGE_BYTES of what it answers
 * (`size` of each release: its manifest, or without manifests its description).
 */
async function releasePage(
  store: ApiDeps["store"],
  query: { app?: string; limit: number; after?: ReleaseCursor },
  size: (release: ReleaseRecord) => number,
): Promise<{ releases: ReleaseRecord[]; more?: true; next?: string }> {
  const releases: ReleaseRecord[] = [];
  const cut = () => {
    const last = releases.at(-1) as ReleaseRecord;
    return { releases, more: true as const, next: cursorText(last) };
  };
  let after = query.after;
  let bytes = 0;
  for (;;) {
    const want = Math.min(SLICE, query.limit - releases.length);
    // One more than wanted: only it tells whether older ones exist.
    const slice = await store.listReleases({
      ...(query.app === undefined ? {} : { app: query.app }),
      limit: want + 1,
      ...(after === undefined ? {} : { after }),
    });
    for (const release of slice.slice(0, want)) {
      const weight = size(release);
      if (releases.length > 0 && bytes + weight > RELEASE_PAGE_BYTES) return cut();
      releases.push(release);
      bytes += weight;
    }
    if (slice.length <= want) return { releases };
    if (releases.length >= query.limit) return cut();
    const last = releases.at(-1) as ReleaseRecord;
    after = { created: last.created, id: last.id };
  }
}

const PublishQuery = z.strictObject({
  /**
   * `true`: every check of a publish (body, manifest, signature, the version held), nothing stored
   * and no artifact needed: `ship release publish` asks it before uploading an archive, which a
   * manifest over the limit or a version held by another build refused only after its whole upload.
   * A release held already is answered as the publish would be (200, the release); else 200
   * `{"dry_run": true}`.
   */
  dry_run: queryFlag().default(false),
});

/** An invalid manifest or a signature of another release is refused here, not discovered on the servers. */
/** Refuses what no agent could take; returns the manifest's warnings (checkManifest). */
function checkRelease(body: PublishRelease): string[] {
  const warnings = checkManifest(body);
  if (body.signature === undefined) return warnings;
  try {
    checkSignatureOfRelease(body.signature, body);
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    throw new HubRequestError(400, `body.signature: ${error.message.replace(/^signature: /, "")}`);
  }
  return warnings;
}

/**
 * What the manifest's reader warns about (an unknown key, `keep_days` without `cleanup_old`), as
 * `ship --test-manifest` says it: the publish is taken, and its answer says them. It said nothing,
 * so CI published `auto_rolback_on:` with a 201 and the safety setting it meant was off on every
 * host the release reached, the warning only in each host's log.
 */
function checkManifest(body: PublishRelease): string[] {
  const notText = manifestNotText(body.manifest);
  if (notText !== undefined) throw new HubRequestError(400, `body.manifest: ${notText}`);
  try {
    const { manifest, warnings } = parseManifestText(body.manifest, "manifest", HUB_MANIFEST_LIMITS);
    if (manifest.version !== body.version)
      throw new HubRequestError(
        400,
        `body.version: ${JSON.stringify(body.version)} differs from the manifest's ${JSON.stringify(manifest.version)}`,
      );
    return warnings.map(formatIssue);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    const problems = error.issues.filter((i) => i.severity === "error").map(formatIssue);
    throw new HubRequestError(400, `body.manifest: ${problems.join("; ")}`);
  }
}

/**
 * One version, one release: `v2.0.0` or `2.0.0+build7` next to `2.0.0` would install other content
 * under a version agents and conditions treat as the same (409, as npm or hawkBit refuse a
 * version that exists).
 */
/** As the store keeps it (JSON): a key holding undefined is no key. */
const asStored = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/**
 * Undefined when the app holds no release of this version; the release itself when it is this one
 * (the same version as written, manifest, source and signature): a CI job retried after its answer
 * was lost (a timeout) published it already and gets it back, 200 instead of 201, nothing changed.
 * Any other release of an equal version is a 409.
 */
async function sameVersionHeld(
  store: Pick<StoreOps, "findRelease">,
  body: PublishRelease,
  versions: readonly string[],
  now: number,
): Promise<ReleaseRecord | undefined> {
  const same = versions.find((v) => compareVersions(v, body.version) === 0);
  if (same === undefined) return undefined;
  const existing = await store.findRelease(body.app, same);
  const conflict =
    existing === undefined
      ? undefined
      : versionConflict(existing, body, isDeepStrictEqual(asStored(existing.source), asStored(body.source)));
  // A CI job retried after its answer was lost (the same release, published already) reads apart
  // from another build published under a version that exists.
  if (existing !== undefined && conflict === undefined && same === body.version) return existing;
  const what =
    conflict === undefined
      ? "the same manifest, source and signature: this release is published already"
      : conflict.differences.join("; ");
  const by =
    existing === undefined
      ? ""
      : ` (release ${existing.id}, published ${agoText(now - existing.created)} ago by ${existing.createdBy}; ${what})`;
  const advice = conflict === undefined ? "" : `: ${conflict.advice}`;
  throw new HubRequestError(
    409,
    same === body.version
      ? `release ${body.app} ${body.version} exists${by}; versions are immutable${advice}`
      : `release ${body.app} ${same} exists${by} and ${body.version} is the same version; versions are immutable${advice}`,
  );
}

const noArtifact = () =>
  new HubRequestError(
    400,
    "body.source.sha256: no such artifact (never uploaded, or removed unused a day after its upload); upload it with PUT /api/v1/artifacts first",
  );

export function releaseRoutes(deps: ApiDeps): Router {
  const { store, tokens } = deps;
  const shownTime = deps.shownTime ?? isoTime;
  const router = Router();
  trimIdParam(router, "release");

  // CI publishes; operators read releases and roll them out (DESIGN: ci publishes, operator the rest).
  router.post("/releases", requireRole(tokens, "ci"), async (req, res) => {
    const { dry_run: dryRun } = parseRequest(PublishQuery, req.query, "query");
    let warnings: string[] = [];
    const body = parseRequest(PublishRelease, req.body, "body", (taken) => {
      warnings = checkRelease(taken);
    });
    // As a rollout's create says its warnings: only when there are some.
    const said = <T extends object>(view: T) => (warnings.length > 0 ? { ...view, warnings } : view);
    if (dryRun) {
      const held = await sameVersionHeld(store, body, await store.releaseVersions(body.app), deps.now());
      res.status(200).json(said(held === undefined ? { dry_run: true } : releaseForPeople(held, shownTime)));
      return;
    }
    // Before the transaction too: an artifact never uploaded is said as such, not as a version
    // conflict, and costs no write transaction (the check that holds is the one inside it).
    if (body.source.type === "hub" && !(await store.getArtifactInfo(body.source.sha256))) throw noArtifact();
    const release: ReleaseRecord = {
      id: randomUUID(),
      app: body.app,
      version: body.version,
      manifest: body.manifest,
      source: body.source,
      signature: body.signature ?? null,
      created: deps.now(),
      createdBy: actorOf(res),
      // Stored with it: no listing parses the manifest again to say them.
      warnings,
    };
    let held: ReleaseRecord | undefined;
    try {
      held = await store.tx(async (t) => {
        // The check and the insert as one step against a concurrent publish of another spelling.
        await t.lockAppReleases(body.app);
        const existing = await sameVersionHeld(t, body, await t.releaseVersions(body.app), deps.now());
        if (existing !== undefined) return existing;
        await t.insertRelease(release);
        // Again after the insert: an unused-artifact sweep may have removed it since the check
        // above (the upload a day old); the release must not name an artifact that is gone.
        if (body.source.type === "hub" && !(await t.hasArtifact(body.source.sha256))) throw noArtifact();
        await t.appendEvent({
          at: release.created,
          actor: release.createdBy,
          kind: "release.published",
          subject: release.id,
          data: { app: release.app, version: release.version, source: release.source.type },
        });
        return undefined;
      });
    } catch (error) {
      // Two publishes of one version at once (a retried CI job, two hubs on one database): the
      // later INSERT meets UNIQUE (app, version). The same answer as when they come one after another.
      if (error instanceof HubRequestError) throw error;
      held = await sameVersionHeld(store, body, await store.releaseVersions(body.app), deps.now());
      if (held === undefined) throw error;
    }
    if (held !== undefined) {
      res.status(200).json(said(releaseForPeople(held, shownTime)));
      return;
    }
    res.status(201).json(said(releaseForPeople(release, shownTime)));
  });

  router.get("/releases", requireRole(tokens, "ci", "operator"), async (req, res) => {
    const query = parseRequest(ListQuery, req.query, "query");
    if (query.version !== undefined) {
      // However many releases the app has: `rollout create --app --version` takes an old one back.
      if (query.app === undefined) throw new HubRequestError(400, "query.version: needs query.app");
      const wanted = query.version;
      const versions = await store.releaseVersions(query.app);
      const same = versions.includes(wanted)
        ? wanted
        : versions.find((v) => compareVersions(v, wanted) === 0);
      const release = same === undefined ? undefined : await store.findRelease(query.app, same);
      const view = query.manifest ? releaseForPeople : releaseListed;
      res.json({ releases: release ? [view(release, shownTime)] : [] });
      return;
    }
    if (!query.manifest) {
      const page = await releasePage(store, query, (r) => releaseListed(r).description.length);
      res.json({ ...page, releases: page.releases.map((r) => releaseListed(r, shownTime)) });
      return;
    }
    const page = await releasePage(store, query, (r) => r.manifest.length);
    res.json({ ...page, releases: page.releases.map((r) => releaseForPeople(r, shownTime)) });
  });

  router.get("/releases/:id", requireRole(tokens, "ci", "operator"), async (req, res) => {
    parseRequest(NoFields, req.query, "query");
    const release = await releaseById(store, req.params.id as string);
    if (!release) throw new HubRequestError(404, `release ${req.params.id} not found`);
    res.json(releaseForPeople(release, shownTime));
  });

  return router;
}
