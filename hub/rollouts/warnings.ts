/**
 * What an operator should know before a rollout starts, though the hub accepts it: said by the
 * preview (CLI --preview, the dashboard's form), by create's answer and in its `rollout.created`
 * event. Never a refusal: the hub does not know each host's `[trust] allow_downgrade`.
 */
import { compareVersions } from "../../shared/versions.js";
import type { Candidate } from "./membership.js";

/** An agent as the preview reads it: its announced version of each app. */
export interface VersionedCandidate extends Candidate {
  apps: { app: string; version?: string | null | undefined }[];
}

/**
 * A release older than what some of the rollout's agents run: each such host refuses it ("release
 * 1.0.0 is older than the installed 2.0.0") unless its ship.toml sets `[trust] allow_downgrade`, so
 * the rollout would halt on failures nobody expected; said with the versions and a few hosts.
 */
export function downgradeWarning(
  release: { app: string; version: string },
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
): string | undefined {
  const members = agents.filter((a) => placed.get(a.id) !== undefined);
  const newer = new Map<string, string[]>();
  for (const agent of members) {
    const version = agent.apps.find((s) => s.app === release.app)?.version;
    if (!version || compareVersions(version, release.version) <= 0) continue;
    newer.set(version, [...(newer.get(version) ?? []), agent.id]);
  }
  if (newer.size === 0) return undefined;
  const hosts = [...newer.values()].flat();
  const versions = [...newer.keys()].sort(compareVersions).reverse();
  const shown = hosts.slice(0, 5).join(", ") + (hosts.length > 5 ? ", …" : "");
  return `body.release: ${release.app} ${release.version} is older than what ${hosts.length} of the rollout's ${members.length} agent(s) run (${versions.join(", ")}: ${shown}); each refuses a downgrade unless its ship.toml sets [trust] allow_downgrade = true, and those refusals count as failures`;
}

/** Every warning for a rollout of `release` placed as `placed` (empty when there is nothing to say). */
export function rolloutWarnings(
  release: { app: string; version: string },
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
): string[] {
  const downgrade = downgradeWarning(release, agents, placed);
  return downgrade === undefined ? [] : [downgrade];
}
