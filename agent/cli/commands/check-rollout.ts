import { loadManifestFile } from "../../../shared/manifest/load.js";
import { hostConditionContext } from "../../conditions/host-context.js";
import { hostId } from "../../host-id.js";
import { checkRolloutEligibility } from "../../rollout/eligibility.js";
import { resolveAppTarget } from "../app-target.js";
import type { GlobalOptions } from "../cli.js";
import type { Output } from "../output.js";

/**
 * `ship --check-rollout FILE`: would this host take part in the manifest's staged rollout now.
 * Exit 0 either way (it is a question, not a failure); the answer is in the text and in --json.
 */
export async function checkRollout(options: GlobalOptions, out: Output): Promise<number> {
  const file = options.checkRollout as string;
  const { manifest } = await loadManifestFile(file);
  // The app as for the other manifest checks (--sources, --app-dir, else the config's only source);
  // with no config at all the working directory: whether a host takes part needs no config.
  const target = await resolveAppTarget(options, out, { withoutConfig: process.cwd() });
  const id = hostId();
  const result = await checkRolloutEligibility(manifest, {
    hostId: id,
    now: new Date(),
    file,
    conditionContext: hostConditionContext({ appDir: target.appDir, currentVersion: target.currentVersion }),
  });
  out.result({ hostId: id, ...result });
  out.line(`host ${id}${result.bucket === null ? "" : ` (bucket ${result.bucket} of 10000)`}`);
  out.line(`${result.eligible ? "ELIGIBLE" : "not eligible"}: ${result.reason}`);
  if (result.nextStage) out.line(`next stage ${result.nextStage.name} opens at ${result.nextStage.opensAt}`);
  return 0;
}
