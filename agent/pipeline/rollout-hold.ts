/**
 * `--check-only` and a standalone staged rollout: "update available" (exit 100) promises that a run
 * now installs the release. When the release's own manifest holds this host back, the check says
 * the host waits instead — the run's own rollout step decides, so both name the same stage and
 * opening time. The rollout lives in the manifest, and the manifest in the release: the release is
 * fetched into staging the way the run's fetch step does it (a local directory or git source
 * stages only what changed), and the caller discards it.
 */
import type { UpdateContext } from "./context.js";
import { runStep } from "./handlers.js";

/** Why this host waits for the release's staged rollout, or undefined when a run would install it. */
export async function rolloutHold(ctx: UpdateContext): Promise<string | undefined> {
  await runStep(ctx, { kind: "fetch" });
  const outcome = await runStep(ctx, { kind: "rollout" });
  return outcome.next === "stop" ? outcome.message : undefined;
}
