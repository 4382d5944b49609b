/**
 * The rollout's agents that run its release already: planned succeeded at create and sent nothing.
 * Warnings about what the rollout will do leave them out, and say what that leaves: a rollout, or a
 * wave (a canary), that sends nothing and so tests nothing.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { brokenOnRelease, type ReleaseApps, runsRelease } from "./found-installed.js";
import type { VersionedCandidate } from "./warnings.js";

/**
 * The agents the rollout will plan as succeeded at once: they run the release already (and their
 * last run of it did not fail), so they are sent nothing. They cannot fail, go missing or test
 * anything in it: a warning about what the rollout will do does not count them.
 */
export function alreadyOn(
  release: { id: string; app: string; version: string },
  agents: readonly VersionedCandidate[],
  releaseApps: ReleaseApps,
): Set<string> {
  return new Set(
    agents
      .filter(
        (a) =>
          runsRelease(a.apps, release, releaseApps) &&
          brokenOnRelease(a.apps, release, releaseApps) === undefined,
      )
      .map((a) => a.id),
  );
}

/** Up to five ids, then "…": a warning names hosts, it does not list a fleet. */
export const shownIds = (ids: readonly string[]): string =>
  ids.slice(0, 5).join(", ") + (ids.length > 5 ? ", …" : "");

/**
 * Agents that run the release already are sent nothing: when every agent the rollout holds does,
 * it completes at once with nothing sent; when every agent of a wave does (a canary, most often),
 * that wave tests nothing, the engine holds it for an operator, and their advance hands the
 * release to the next wave untested.
 */
export function alreadyOnWarnings(
  release: { app: string; version: string },
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
  settled: ReadonlySet<string>,
): string[] {
  const held = [...placed].filter(([, w]) => w !== undefined).map(([id]) => id);
  const on = `${release.app} ${release.version}`;
  if (held.length > 0 && held.every((id) => settled.has(id)))
    return [
      `body.release: every one of the rollout's ${held.length} agent(s) runs ${on} already (${shownIds(held)}): the rollout sends nothing, tests nothing, and completes at once`,
    ];
  return spec.waves.flatMap((wave, i) => {
    const members = [...placed].filter(([, w]) => w === i).map(([id]) => id);
    if (members.length === 0 || !members.every((id) => settled.has(id))) return [];
    const next = spec.waves[i + 1];
    // The engine holds such a wave while later waves have agents to send the release to
    // (`emptyWaveReason`); with none, passing it hands nothing on untested.
    const owedLater = [...placed].some(([id, w]) => w !== undefined && w > i && !settled.has(id));
    const by = spec.autoAdvance
      ? "; auto-advance does not pass it (it waits for an operator), and advancing by hand sends"
      : ", and advancing passes it, sending";
    const passed =
      next === undefined || !owedLater ? "" : `${by} the release to wave ${i + 2} (${next.name}) untested`;
    return [
      `body.waves[${i}] (${wave.name}): every agent of it runs ${on} already (${shownIds(members)}): nothing is sent to it, so it tests nothing${passed}`,
    ];
  });
}
