import { dirname, resolve } from "node:path";
import { formatObservation } from "../../../shared/conditions/evaluate.js";
import { loadManifestFile } from "../../../shared/manifest/load.js";
import { evaluateConditionals } from "../../conditions/evaluate-conditionals.js";
import { hostConditionContext, type RanCommand, releaseScriptNotes } from "../../conditions/host-context.js";
import { resolveAppTarget } from "../app-target.js";
import type { GlobalOptions } from "../cli.js";
import type { Output } from "../output.js";

const consequence = {
  proceed: "the update would proceed",
  skip: "the update would be SKIPPED this run (exit 0, tried again next run)",
  manual: "the update would WAIT for manual intervention (exit 0, nothing applied)",
} as const;

/** `ship --test-conditionals FILE`: evaluate each condition on this host and say what would happen. */
export async function testConditionals(options: GlobalOptions, out: Output): Promise<number> {
  const file = options.testConditionals as string;
  const { manifest } = await loadManifestFile(file);
  const target = await resolveAppTarget(options, out);
  const ran: RanCommand[] = [];
  const ctx = hostConditionContext({
    appDir: target.appDir,
    currentVersion: target.currentVersion,
    onCommand: (command) => ran.push(command),
  });
  const evaluated = await evaluateConditionals(manifest.conditionals, ctx, { file });
  // The manifest sits at its release's root: a script only the release has is named, as a run does.
  const notes = await releaseScriptNotes(ran, target.appDir, dirname(resolve(file)));
  const verdict = { ...evaluated, warnings: [...evaluated.warnings, ...notes] };
  out.result({ appDir: target.appDir, currentVersion: target.currentVersion ?? null, ...verdict });
  out.line(`app ${target.appDir}, installed version ${target.currentVersion ?? "(unknown)"}`);
  for (const o of verdict.outcomes) {
    out.line(
      `${o.result ? "HOLDS " : o.undetermined ? "MAYBE " : "no    "} ${o.condition}  → ${o.action}${o.message ? `: ${o.message}` : ""}`,
    );
    for (const obs of o.observations) out.line(`         ${formatObservation(obs)}`);
  }
  if (verdict.outcomes.length === 0) out.line("the manifest has no conditionals");
  for (const w of verdict.warnings) out.line(`warning: ${w}`);
  for (const step of verdict.manualSteps) out.line(`manual step: ${step}`);
  out.line(consequence[verdict.decision]);
  return 0;
}
