/**
 * The on_failure of an instruction the pipeline never carried to its end (given up after the agent
 * stopped in it three times, or broken by something unexpected): no release was staged, so the
 * only manifest at hand is the hub's copy in the instruction. It is trusted as far as the release
 * would be: with `[trust]` keys only once a trusted key's signature covers its digest (the
 * signature binds app, version and manifest, so the artifact is not needed); without keys the hub
 * is trusted for the release's hooks and files alike, and so for its notifications.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { AgentConfig } from "../../shared/config/schema.js";
import { errorMessage } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { parseManifestText } from "../../shared/manifest/load.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import type { Deploy } from "../../shared/protocol/messages.js";
import { parseSignature, verifyReleaseTrust } from "../../shared/signing/index.js";
import { hostId } from "../host-id.js";
import { sendNotifications } from "../notify/send-notifications.js";

export interface HubManifestNoticeInput {
  config: AgentConfig;
  configFile?: string;
  instruction: Deploy;
  /** The failed report's error, sent as `{error}`. */
  error: string;
  log: Logger;
  now?: Date;
}

/**
 * The sending of the hub manifest's on_failure, resolving to what did not arrive; undefined when
 * the copy cannot be trusted or read (a WARNING says why: the operator learns that nobody was told).
 */
export async function hubManifestNotice(
  input: HubManifestNoticeInput,
): Promise<(() => Promise<string[]>) | undefined> {
  const { instruction, log } = input;
  const { app } = instruction;
  const manifest = await trustedHubManifest(input).catch((error: unknown) => {
    log.warn(
      `${app}: on_failure not sent: the hub's copy of ${app} ${instruction.release.version}'s manifest ${errorMessage(error)}`,
      {
        app,
        deployment: instruction.deploymentId,
      },
    );
    return undefined;
  });
  if (manifest === undefined || manifest.notifications.on_failure.length === 0) return undefined;
  const timestamp = (input.now ?? new Date()).toISOString();
  return () =>
    sendNotifications(
      manifest.notifications.on_failure,
      {
        app,
        version: manifest.version,
        status: "failure",
        error: input.error,
        host: hostname(),
        system_id: hostId(),
        timestamp,
      },
      { log },
    );
}

async function trustedHubManifest(input: HubManifestNoticeInput): Promise<Manifest> {
  const { release } = input.instruction;
  await verifyReleaseTrust({
    trust: input.config.trust,
    ...(input.configFile === undefined ? {} : { configFile: input.configFile }),
    // The app this host installs it as, as the download's check does.
    app: input.instruction.app,
    version: release.version,
    // Only the manifest is used: the artifact's digest is the one the signature names, so the check
    // proves a trusted key signed this app, version and manifest.
    artifactSha256: signedArtifact(release.signature),
    manifestSha256: createHash("sha256").update(release.manifest).digest("hex"),
    ...(release.signature === undefined ? {} : { signature: release.signature }),
  }).catch((error: unknown) => {
    throw new Error(`is not trusted: ${errorMessage(error)}`);
  });
  let manifest: Manifest;
  try {
    ({ manifest } = parseManifestText(release.manifest, "update-manifest.yaml"));
  } catch (error) {
    throw new Error(`cannot be read: ${errorMessage(error)}`);
  }
  // The copy of another release (a hub's mix-up) would tell of an update that was not this one.
  if (manifest.version !== release.version)
    throw new Error(`says version ${manifest.version}, the instruction ${release.version}`);
  return manifest;
}

function signedArtifact(signature: string | undefined): string {
  try {
    return parseSignature(signature).payload.artifactSha256;
  } catch {
    // verifyReleaseTrust says what is wrong with it (or that none is needed, without keys).
    return "";
  }
}
