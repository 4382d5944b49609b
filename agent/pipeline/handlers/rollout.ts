/**
 * rollout: the manifest's standalone staged rollout decides whether this host installs the release
 * now. A host outside the open stages (or not meeting a stage's criteria) waits: the run stops on
 * purpose (exit 0) saying which stage opens when, and the next run asks again. `--force` only
 * bypasses the once-a-day rule; `--ignore-rollout` is the separate, explicit way past a rollout.
 * In hub mode the hub's waves decide instead, so the daemon sets ignoreRollout.
 */
import { hostConditionContext } from "../../conditions/host-context.js";
import { hostId } from "../../host-id.js";
import { checkRolloutEligibility } from "../../rollout/eligibility.js";
import { need, type UpdateContext } from "../context.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";

export async function waitForRolloutStage(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  if (manifest.rollout === undefined) return CONTINUE;
  if (ctx.settings.ignoreRollout) {
    ctx.log.warn(`--ignore-rollout: installing ${manifest.version} whatever its staged rollout says`);
    return CONTINUE;
  }
  const id = hostId();
  const verdict = await checkRolloutEligibility(manifest, {
    hostId: id,
    now: ctx.settings.now(),
    conditionContext: hostConditionContext({
      appDir: ctx.source.app_dir,
      currentVersion: ctx.currentVersion ?? undefined,
      debug: (message) => ctx.log.debug(message),
    }),
  });
  const facts = { host: id, bucket: verdict.bucket, stage: verdict.stage?.name ?? null };
  if (verdict.eligible) {
    ctx.log.info(`staged rollout: this host takes part: ${verdict.reason}`, facts);
    return CONTINUE;
  }
  const message = `${manifest.version} waits for its staged rollout on host ${id}: ${verdict.reason} (--ignore-rollout installs it now)`;
  ctx.log.info(message, { ...facts, nextStage: verdict.nextStage });
  return { next: "stop", result: "skipped", message };
}
