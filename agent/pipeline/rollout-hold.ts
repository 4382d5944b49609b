/**
 * `--check-only`: "update available" (exit 100) promises that a run now installs the release. The
 * steps a run takes before it writes anything decide whether it would: the release may be the
 * installed one after all (a new url serving the installed archive), older than the installed one
 * (refused unless allowed), held back by the manifest's staged rollout, skipped by a conditional
 * (maintenance mode) or waiting for a person (require_manual_intervention). Those steps live in the
 * release, so it is fetched into staging the way the run's fetch step does it (a local directory
 * or git source stages only what changed), and the caller discards it. No hook or command of the
 * release runs here, except a conditional's own `command('...')`, as --test-conditionals runs it.
 * An archive is read whole, not only up to its update-manifest.yaml: the verdict also rests on its
 * checksum or signature (and a conditional's command runs only from a verified release), on its
 * sha256 (the installed archive at a new url), and on it being a readable tar holding files. The
 * read is the check's own answer (http) or session (sftp): a check costs no second request.
 */
import type { UpdateContext } from "./context.js";
import { runStep } from "./handlers.js";
import type { StopOutcome } from "./outcome.js";
import type { Step } from "./steps.js";

/** The steps a run takes before its first hook, in the run's order. */
const BEFORE_FIRST_COMMAND: readonly Step[] = [
  { kind: "fetch" },
  { kind: "verify" },
  { kind: "rollout" },
  { kind: "conditionals" },
];

/** Where and why a run would stop before installing the release; undefined: it would install it. */
export async function wouldStopBeforeInstalling(
  ctx: UpdateContext,
): Promise<{ step: Step; outcome: StopOutcome } | undefined> {
  for (const step of BEFORE_FIRST_COMMAND) {
    const outcome = await runStep(ctx, step);
    if (outcome.next === "stop") return { step, outcome };
  }
  return undefined;
}
