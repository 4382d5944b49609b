/** fetch: the source stages the release and its manifest is read. verify: downgrade + file policy. */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError, issuesMoved, VerificationError } from "../../../shared/errors.js";
import { findFileRule } from "../../../shared/manifest/rules.js";
import { MANIFEST_FILENAME, Manifest } from "../../../shared/manifest/schema.js";
import { compareVersions } from "../../../shared/versions.js";
import { lfsPointerError, lfsPointersInRelease, PACKED_CAUSE } from "../../sources/git-lfs.js";
import { shortId } from "../../sources/release-info.js";
import type { FetchedRelease } from "../../sources/types.js";
import { need, type UpdateContext } from "../context.js";
import { refuseEmpty, refuseNothingToInstall } from "../empty-release.js";
import { byOtherNote, installedByOther } from "../installed-by.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";
import { checkReleaseFiles, effectivePolicy } from "../release-policy.js";
import { saidManifestWarnings, warningKey } from "../said-manifest-warnings.js";
import { refuseWrapped } from "../wrapped-release.js";

export async function fetchRelease(ctx: UpdateContext): Promise<StepOutcome> {
  const release = await ctx.releaseSource.fetch(ctx.paths.stagingDir);
  if (release.installedAlready === true) {
    // The installed release: named by its version, as every other "up to date" is, not its digest.
    const message = `${ctx.app}: up to date (${ctx.currentVersion ?? shortId(release.id)})`;
    ctx.log.info(message, { release: release.id });
    return { next: "stop", result: "up_to_date", message };
  }
  ctx.release = release;
  const where = release.originDir ?? `release ${shortId(release.id)}`;
  await refuseEmpty(release.dir, where, ctx.source.app_dir);
  const file = join(release.dir, MANIFEST_FILENAME);
  if (await exists(file)) {
    const { manifest, warnings } = await ctx.ports.loadManifest(file).catch((error: unknown) => {
      throw namedAtOrigin(error, file, release);
    });
    // Said once per change of the manifest: not those the installed release's manifest had too.
    const said = await saidManifestWarnings(ctx.paths.appStateDir);
    ctx.manifestWarnings = warnings.map(warningKey);
    for (const warning of warnings)
      if (!said.has(warningKey(warning)))
        ctx.log.warn(`manifest: ${warning.message}`, { path: warning.path });
    await refuseNothingToInstall(release, manifest, where, ctx.source.app_dir);
    ctx.manifest = manifest;
    ctx.versionFromManifest = true;
  } else if (ctx.source.require_manifest) {
    throw BadInputError.single(
      manifestShownAs(release) ?? file,
      "",
      `the release has no ${MANIFEST_FILENAME} and require_manifest = true`,
    );
  } else {
    await refuseWrapped(release.dir, where, ctx.source.app_dir, ctx.paths.appStateDir);
    // No manifest: every file is replaced, and the release is known by the source's id.
    ctx.log.warn(`release has no ${MANIFEST_FILENAME}: replacing every file`, { release: release.id });
    ctx.manifest = Manifest.parse({ version: release.id });
    ctx.versionFromManifest = false;
  }
  ctx.log.info("fetched release", {
    release: release.id,
    version: ctx.manifest.version,
    from: ctx.currentVersion,
  });
  return CONTINUE;
}

/**
 * How the operator knows the release's manifest: their own file (a local directory), or where it
 * came in (`ARCHIVE!update-manifest.yaml`, the hub release); undefined: only the staged copy.
 */
function manifestShownAs(release: FetchedRelease): string | undefined {
  return release.originDir === undefined ? release.manifestName : join(release.originDir, MANIFEST_FILENAME);
}

/** A manifest error names the release's manifest as the operator knows it, not the staging copy. */
function namedAtOrigin(error: unknown, staged: string, release: FetchedRelease): unknown {
  const origin = manifestShownAs(release);
  return origin === undefined ? error : issuesMoved(error, staged, origin);
}

export async function verifyRelease(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const last = ctx.currentVersion === null ? ctx.lastInstalled : undefined;
  const current = ctx.currentVersion ?? last?.version ?? null;
  if (ctx.versionFromManifest && current !== null && compareVersions(manifest.version, current) < 0) {
    const allowed = ctx.settings.allowDowngrade || ctx.config.trust?.allow_downgrade === true;
    if (!allowed) {
      // Another source filling this app_dir put it there: said, or alpha's refusal named a 5.0.0
      // the operator never gave alpha.
      const other =
        last === undefined ? await installedByOther(ctx.config, ctx.app, ctx.paths.appStateDir) : undefined;
      const installed =
        last === undefined
          ? `the installed ${current}${byOtherNote(ctx.config, other)}`
          : `${current}, which ship installed last here (${last.why})`;
      throw new VerificationError(
        "downgrade",
        `release ${manifest.version} is older than ${installed}; to allow it run ship --allow-downgrade once, or set [trust] allow_downgrade = true`,
      );
    }
    ctx.log.warn("downgrading on purpose (allow_downgrade)", { from: current, to: manifest.version });
  }
  const release = need(ctx.release, "release");
  await checkReleaseFiles(
    release.dir,
    effectivePolicy(ctx.app, ctx.source.security, manifest.security),
    release.listing,
    (rel) => findFileRule(manifest, rel).rule.action === "skip",
  );
  // A git source searched its export already, knowing the commit (git-lfs.ts).
  if (ctx.source.type !== "git") {
    const pointers = await lfsPointersInRelease(release.dir, ctx.source.app_dir, release.listing);
    if (pointers.length > 0)
      throw lfsPointerError(`${ctx.app}: release ${manifest.version}`, pointers, PACKED_CAUSE);
  }
  // An app entry in the release's way (its own directory where a file goes) and a config a merge
  // cannot read are bad input: refused here, before the hooks and the apply.
  await ctx.ports.engine.checkPaths({
    manifest,
    releaseDir: release.dir,
    appDir: ctx.source.app_dir,
    stateDir: ctx.paths.appStateDir,
    ...(release.listing === undefined ? {} : { listing: release.listing.files }),
    ...(release.fileHashes === undefined ? {} : { hashes: release.fileHashes }),
    ...(release.comparedWithIndex === undefined ? {} : { compared: release.comparedWithIndex }),
  });
  // Manifest warnings the release's files show (a merge rule an earlier glob shadows): said once
  // per change of the manifest, as the manifest's own.
  const said = await saidManifestWarnings(ctx.paths.appStateDir);
  await ctx.ports.engine.checkMerges({
    manifest,
    releaseDir: release.dir,
    appDir: ctx.source.app_dir,
    stateDir: ctx.paths.appStateDir,
    ...(release.originDir === undefined ? {} : { originDir: release.originDir }),
    ...(release.listing === undefined ? {} : { listing: release.listing.files }),
    warn: (message) => {
      const key = warningKey({ path: "files", message });
      ctx.manifestWarnings = [...(ctx.manifestWarnings ?? []), key];
      if (!said.has(key)) ctx.log.warn(`manifest: ${message}`);
    },
  });
  return CONTINUE;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
