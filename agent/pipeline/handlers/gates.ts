/** conditionals and requirements: decide whether this host should take the update at all. */
import { compareVersions, isVersionLike } from "../../../shared/versions.js";
import { readState } from "../../state/state-file.js";
import { need, type UpdateContext } from "../context.js";
import { StepFailedError } from "../errors.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";

export async function evaluateConditionals(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  if (manifest.conditionals.length === 0) return CONTINUE;
  const verdict = await ctx.ports.evaluateConditionals(manifest.conditionals, {
    appDir: ctx.source.app_dir,
    currentVersion: ctx.currentVersion,
    targetVersion: manifest.version,
    log: ctx.log,
    ...(ctx.release === undefined ? {} : { releaseDir: ctx.release.dir }),
  });
  for (const warning of verdict.warnings) {
    ctx.warnings.push(warning);
    ctx.log.warn(`conditional: ${warning}`);
  }
  switch (verdict.action) {
    case "proceed":
      return CONTINUE;
    case "skip":
      return skipOnPurpose(ctx, verdict.message);
    case "manual": {
      const approval = (await readState(ctx.config.general.state_file)).sources[ctx.app]?.manual_approval;
      // Versions compare as everywhere else in ship (`v2.0.0` is `2.0.0`), not as strings.
      if (approval !== undefined && compareVersions(approval.version, manifest.version) === 0) {
        ctx.log.warn(
          `manual intervention (${verdict.message}) approved by ${approval.approved_by} at ${approval.approved_at}: proceeding`,
          { audit: "manual_approval_used", ...approval, manualSteps: verdict.manualSteps },
        );
        // The approval says the steps are done, not that maintenance mode (say) is over.
        return verdict.skipMessage === undefined ? CONTINUE : skipOnPurpose(ctx, verdict.skipMessage);
      }
      // The command with this run's --config is printed by the CLI; the pipeline does not know the path.
      // A downgrade's steps are approved with --allow-downgrade (a plain approval of an older version is refused).
      const downgrade =
        ctx.config.trust?.allow_downgrade !== true &&
        ctx.currentVersion !== null &&
        isVersionLike(ctx.currentVersion) &&
        compareVersions(manifest.version, ctx.currentVersion) < 0
          ? " --allow-downgrade"
          : "";
      const message = `${verdict.message}; once the manual steps are done, approve them with --approve ${ctx.app} ${manifest.version}${downgrade}`;
      ctx.log.warn(`manual intervention required: ${message}`, { manualSteps: verdict.manualSteps });
      return {
        next: "stop",
        result: "manual_intervention_required",
        message,
        manualSteps: verdict.manualSteps,
      };
    }
  }
}

function skipOnPurpose(ctx: UpdateContext, message: string): StepOutcome {
  ctx.log.info(`skipped on purpose: ${message}`);
  return { next: "stop", result: "skipped", message };
}

export async function checkRequirements(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const verdict = await ctx.ports.checkRequirements(manifest.requirements, {
    appDir: ctx.source.app_dir,
    log: ctx.log,
    ...(ctx.release === undefined ? {} : { releaseDir: ctx.release.dir }),
  });
  if (!verdict.ok) throw new StepFailedError("requirements", verdict.failures.join("; "));
  return CONTINUE;
}
