/**
 * What an operator should know before a rollout starts, though the hub accepts it: said by the
 * preview (CLI --preview, the dashboard's form), by create's answer and in its `rollout.created`
 * event. Never a refusal: an agents wave may name a host that registers later, a label wave may
 * fill as agents register, and what each host does with an older release is its own `[trust]
 * allow_downgrade`, which its hello announces (older agents do not: taken to refuse).
 */
import { setImmediate } from "node:timers/promises";
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { compareVersions } from "../../shared/versions.js";
import { describeThreshold, noStats, thresholdCrossed } from "./accounting.js";
import { alreadyOn, alreadyOnWarnings, shownIds } from "./already-on-warnings.js";
import { brokenOnRelease, type ReleaseApps } from "./found-installed.js";
import { type Candidate, isEligible } from "./membership.js";
import { oversizedWaveWarnings } from "./oversized-wave.js";

/** An agent as the preview reads it: its announced version of each app, and its allow_downgrade. */
export interface VersionedCandidate extends Candidate {
  apps: {
    app: string;
    version?: string | null | undefined;
    state?: string;
    releaseId?: string | undefined;
  }[];
  /** Its hello's [trust] allow_downgrade; absent from an older agent, which is taken to refuse. */
  allowDowngrade?: boolean | undefined;
  /** Connected now (as the store says: in a cluster, to any hub). */
  online?: boolean;
}

/** "(v2.1, 2.0.0: a1, a3)": the versions newest first, and up to five hosts. */
function newerText(newer: ReadonlyMap<string, string[]>): { hosts: string[]; text: string } {
  const hosts = [...newer.values()].flat();
  const versions = [...newer.keys()].sort(compareVersions).reverse();
  const shown = hosts.slice(0, 5).join(", ") + (hosts.length > 5 ? ", …" : "");
  return { hosts, text: `(${versions.join(", ")}: ${shown})` };
}

/**
 * A release older than what some of the rollout's agents run. Said per what each host will do, as
 * its hello announced (DESIGN.md: a downgrade nobody asked for is refused): a host without `[trust]
 * allow_downgrade` refuses it ("release 1.0.0 is older than the installed 2.0.0"), so the rollout
 * would halt on failures nobody expected; a host with it set takes the older release, which the
 * operator should know before it starts. Hosts on the release's version or older get no warning.
 */
export function downgradeWarnings(
  release: { app: string; version: string },
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
): string[] {
  const members = agents.filter((a) => placed.get(a.id) !== undefined);
  const refusing = new Map<string, string[]>();
  const downgrading = new Map<string, string[]>();
  for (const agent of members) {
    const version = agent.apps.find((s) => s.app === release.app)?.version;
    if (!version || compareVersions(version, release.version) <= 0) continue;
    const into = agent.allowDowngrade === true ? downgrading : refusing;
    into.set(version, [...(into.get(version) ?? []), agent.id]);
  }
  const older = `body.release: ${release.app} ${release.version} is older than what`;
  const warnings: string[] = [];
  if (refusing.size > 0) {
    const { hosts, text } = newerText(refusing);
    warnings.push(
      `${older} ${hosts.length} of the rollout's ${members.length} agent(s) run ${text}; each refuses a downgrade unless its ship.toml sets [trust] allow_downgrade = true, and those refusals count as failures`,
    );
  }
  if (downgrading.size > 0) {
    const { hosts, text } = newerText(downgrading);
    warnings.push(
      `${older} ${hosts.length} of the rollout's ${members.length} agent(s) run ${text}; their ship.toml sets [trust] allow_downgrade = true, so they will be downgraded to it`,
    );
  }
  return warnings;
}

/** Ids listed in a warning at most: past them, how many more (the warning is answered and stored). */
const LISTED_IDS = 10;

/** "a, b, c", or past LISTED_IDS "a, b, …, j and 90 more". */
function fewOf(ids: readonly string[]): string {
  const listed = ids.slice(0, LISTED_IDS).join(", ");
  return ids.length > LISTED_IDS ? `${listed} and ${ids.length - LISTED_IDS} more` : listed;
}

/**
 * Agents an `agents` wave names that will not take part: not registered with the hub at all (a
 * typo, most often) or not eligible (no such app announced, the selector's labels lacking). The
 * wave is then smaller than the operator wrote — empty, for a one-host canary.
 */
export function namedAgentWarnings(
  spec: RolloutSpec,
  app: string,
  agents: readonly VersionedCandidate[],
  forgotten: ReadonlySet<string> = new Set(),
): string[] {
  const byId = new Map(agents.map((a) => [a.id, a]));
  return spec.waves.flatMap((wave, i) => {
    if (wave.agents === undefined) return [];
    // An operator took these out of the fleet: "never registered (a typo?)" would be untrue.
    const gone = wave.agents.filter((id) => !byId.has(id) && forgotten.has(id));
    const unknown = wave.agents.filter((id) => !byId.has(id) && !forgotten.has(id));
    const ineligible = wave.agents.filter((id) => {
      const agent = byId.get(id);
      return agent !== undefined && !isEligible(spec, app, agent);
    });
    const said: string[] = [];
    if (gone.length > 0)
      said.push(
        `${fewOf(gone)} ${gone.length === 1 ? "was" : "were"} forgotten (\`ship-hub agents forget\`); taken only if ${gone.length === 1 ? "it connects" : "they connect"} again while the rollout runs`,
      );
    if (unknown.length > 0)
      said.push(
        `${fewOf(unknown)} never registered with the hub (a typo?); taken only if an agent of that id registers while the rollout runs`,
      );
    if (ineligible.length > 0)
      said.push(
        `${fewOf(ineligible)} ${ineligible.length === 1 ? "does" : "do"} not take part (no app ${app} announced, or the selector's labels lacking)`,
      );
    return said.length === 0 ? [] : [`body.waves[${i}].agents (${wave.name}): ${said.join("; ")}`];
  });
}

/**
 * A wave before the last that holds no agent now: nothing is tested in it, and passing it (an
 * operator's advance; auto-advance waits for an agent to join it) hands the release to the next
 * wave untested. Said by name, as
 * a refused empty percent wave would be; a label or agents wave may fill as agents register.
 */
export function emptyWaveWarnings(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
): string[] {
  const held = new Set(placed.values());
  if (held.size === 0) return [];
  // The waves after one that took every agent are said by `everyAgentEarlyWarnings`.
  const full = firstWaveTakingAll(spec, placed);
  return spec.waves.slice(0, -1).flatMap((wave, i) => {
    if (held.has(i) || (full !== undefined && i > full)) return [];
    const next = spec.waves[i + 1]?.name ?? "";
    // Auto-advance holds such a wave (`stuckWaveReason`): only an operator's advance passes it.
    const passed = spec.autoAdvance
      ? `auto-advance waits in it for an agent to join it; advancing by hand passes it`
      : "advancing passes it";
    return [
      `body.waves[${i}] (${wave.name}) holds no agent now: nothing is tested in it, and ${passed}, sending the release to wave ${i + 2} (${next}) untested`,
    ];
  });
}

/** The first wave before the last by which every agent the waves hold is in (undefined if none). */
function firstWaveTakingAll(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
): number | undefined {
  // One agent counts too: a fleet of one in the first of three percent waves was said as "wave 2
  // holds no agent … sending the release to wave 3 untested", where wave 3 held none either.
  const waves = [...placed.values()].filter((w): w is number => w !== undefined);
  if (waves.length === 0) return undefined;
  const last = Math.max(...waves);
  return last < spec.waves.length - 1 ? last : undefined;
}

/**
 * A wave before the last that already takes every agent: the waves after it hold none. A canary
 * of named hosts or labels that covers the whole fleet sends the release to every agent at once,
 * with nothing tested first; percent waves on a fleet smaller than their count leave the last
 * empty (one agent each from the first). Neither was said: the operator counted on stages that
 * would not happen.
 */
export function everyAgentEarlyWarnings(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
): string[] {
  const full = firstWaveTakingAll(spec, placed);
  if (full === undefined) return [];
  const held = [...placed.values()].filter((w) => w !== undefined).length;
  const later = spec.waves.slice(full + 1).map((w) => w.name);
  const none = `${later.join(", ")} ${later.length === 1 ? "holds" : "hold"} none`;
  const name = spec.waves[full]?.name ?? "";
  return [
    full === 0
      ? `body.waves[0] (${name}) takes every one of the rollout's ${held} agent(s) now: ${none}, so the release reaches every agent in the first wave, with nothing tested before`
      : `body.waves[${full}] (${name}) and the waves before it take every one of the rollout's ${held} agent(s) now: ${none}${
          spec.waves.slice(0, full + 1).every((w) => w.percent !== undefined)
            ? " (fewer agents than waves: one each from the first)"
            : ""
        }; an agent that registers meanwhile joins them`,
  ];
}

/**
 * A wave whose every agent is offline now: nothing happens in it until they reconnect, and each
 * that stays away past the hub's offline timeout (once the wave started) counts as a failure,
 * which may halt the rollout. A canary of hosts that are down is worth knowing of before it starts.
 */
export function offlineWaveWarnings(
  spec: RolloutSpec,
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
  settled: ReadonlySet<string> = new Set(),
  /** Agents broken on the release already (`brokenOnRelease`): planned failed at create. */
  broken: ReadonlySet<string> = new Set(),
): string[] {
  const online = new Map(agents.map((a) => [a.id, a.online !== false]));
  return spec.waves.flatMap((wave, i) => {
    const all = [...placed].filter(([, w]) => w === i).map(([id]) => id);
    // An agent on the release already is done at create (succeeded, or failed when broken on it),
    // online or not: the wave waits for none of it.
    const members = all.filter((id) => !settled.has(id) && !broken.has(id));
    if (members.length === 0 || members.some((id) => online.get(id))) return [];
    const which = members.length < all.length ? " still to update" : "";
    return [
      `body.waves[${i}] (${wave.name}): every agent of it${which} is offline now (${shownIds(members)}): the wave waits for them, and each that stays away past the hub's offline timeout counts as failed`,
    ];
  });
}

/**
 * Offline agents enough to halt the rollout by themselves: each that stays away past the offline
 * timeout once its wave started counts as failed, so with a failure threshold of 1 a single host
 * down (or decommissioned and never forgotten) in the canary halts it, with nothing wrong in the
 * release. Said for the first wave by which they would cross the threshold, unless every agent of
 * that wave is offline (`offlineWaveWarnings` says that one).
 */
export function offlineThresholdWarnings(
  spec: RolloutSpec,
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
  settled: ReadonlySet<string> = new Set(),
  /** Agents broken on the release already (`brokenOnRelease`): planned failed at create. */
  broken: ReadonlySet<string> = new Set(),
): string[] {
  // One on the release already succeeds at create, and one broken on it fails then: away or not,
  // neither times out. The broken ones count toward the threshold all the same, with the offline.
  const offline = new Set(
    agents.filter((a) => a.online === false && !settled.has(a.id) && !broken.has(a.id)).map((a) => a.id),
  );
  const members: string[] = [];
  for (const [i, wave] of spec.waves.entries()) {
    const own = [...placed].filter(([, w]) => w === i).map(([id]) => id);
    members.push(...own);
    const away = members.filter((id) => offline.has(id));
    if (away.length === 0) continue;
    const failed = members.filter((id) => broken.has(id));
    const on = members.filter((id) => settled.has(id)).length;
    const crosses = (n: number) =>
      thresholdCrossed(
        { ...noStats(), members: members.length, failed: n, alreadyOn: on },
        spec.failureThreshold,
        0,
      );
    if (!crosses(away.length + failed.length)) continue;
    // The broken hosts halt it by themselves: that is no offline host's doing (brokenWarnings says it).
    if (crosses(failed.length)) return [];
    const pending = own.filter((id) => !settled.has(id) && !broken.has(id));
    if (pending.length > 0 && pending.every((id) => offline.has(id)) && failed.length === 0) return [];
    const also =
      failed.length === 0
        ? ""
        : `, and ${failed.length} more count as failed at once (their last run of the release failed: ${shownIds(failed)})`;
    // Of the agents it updates, as the engine counts the threshold (`thresholdCrossed`): "1 of the
    // 4" with 2 of them on the release already read 25 %, where a 50 % threshold halts on it.
    const onText = on === 0 ? "" : ` (${on} more run the release already, not counted)`;
    return [
      `body.failureThreshold: ${away.length} of the ${members.length - on} agent(s) it updates in the waves up to ${wave.name}${onText} are offline now (${shownIds(away)})${also}: if they stay away past the hub's offline timeout they count as failed, ${failed.length === 0 ? `enough to halt the rollout (${describeThreshold(spec.failureThreshold)}) with nothing wrong in the release` : `enough, with those, to halt the rollout (${describeThreshold(spec.failureThreshold)})`}`,
    ];
  }
  return [];
}

/**
 * Agents of the app (and selector) that no wave takes: the last wave stops short of 100 % (or the
 * label and agents waves leave them out). The rollout completes without them, and `--watch` exits
 * 0: they keep what they run, which the operator should decide knowingly.
 */
export function unplacedWarnings(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
  settled: ReadonlySet<string> = new Set(),
): string[] {
  // One that runs the release already loses nothing by being left out.
  const left = [...placed].filter(([id, wave]) => wave === undefined && !settled.has(id)).map(([id]) => id);
  if (left.length === 0) return [];
  const shown = left.slice(0, 5).join(", ") + (left.length > 5 ? ", …" : "");
  const last = spec.waves.length - 1;
  const lastWave = spec.waves[last];
  const short =
    lastWave?.percent === undefined ? "" : `the last wave (${lastWave.name}) covers ${lastWave.percent} %: `;
  return [
    `body.waves[${last}]: ${short}${left.length} of the rollout's ${placed.size} agent(s) are in no wave (${shown}) and will not be updated by it; end with a 100 % wave to take them`,
  ];
}

/**
 * A failure count above the number of agents the rollout holds can never be reached: the release
 * failing on every host neither halts it nor, with `autoRollback`, sends anyone back. Agents that
 * register later join, so it is said, not refused.
 */
export function thresholdWarnings(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
  settled: ReadonlySet<string> = new Set(),
): string[] {
  const members = [...placed].filter(([, wave]) => wave !== undefined).map(([id]) => id);
  // Those on the release already succeed at create: only the others can fail.
  const held = members.filter((id) => !settled.has(id)).length;
  const threshold = spec.failureThreshold;
  if (!("count" in threshold) || held === 0 || threshold.count <= held) return [];
  const rollback = spec.autoRollback ? " nor sends anyone back (autoRollback)" : "";
  const done = members.length - held;
  const holds =
    done === 0
      ? `the ${held} agent(s) the rollout holds now`
      : `the ${held} agent(s) of the rollout that can fail now (${done} more run the release already)`;
  return [
    `body.failureThreshold: ${threshold.count} failure(s) is more than ${holds}: the release failing on every one of them neither halts it${rollback}`,
  ];
}

/**
 * `waitMinutes` and `minSuccessRate` only hold back a wave that advances by itself: without
 * `autoAdvance` an operator advances it whenever they choose, so a soak or success bar written
 * into the spec does nothing, and the operator should not count on it.
 */
export function idleWaveOptionWarnings(spec: RolloutSpec): string[] {
  if (spec.autoAdvance) return [];
  return spec.waves.flatMap((wave, i) => {
    const set = [
      ...(wave.waitMinutes > 0 ? [`waitMinutes ${wave.waitMinutes}`] : []),
      ...(wave.minSuccessRate < 1 ? [`minSuccessRate ${wave.minSuccessRate}`] : []),
    ];
    return set.length === 0
      ? []
      : [
          `body.waves[${i}] (${wave.name}): ${set.join(" and ")} only act with autoAdvance, which is off: the wave advances when an operator advances it`,
        ];
  });
}

/**
 * Agents that run the release already but whose last run of it failed (`brokenOnRelease`): the
 * rollout does not send it to them again (they would answer "already on it") and counts them as
 * failed at once, which may halt it as soon as it starts.
 */
export function brokenWarnings(
  release: { id: string; app: string; version: string },
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
  releaseApps: ReleaseApps,
  spec: RolloutSpec,
): string[] {
  const broken = agents.filter(
    (a) => placed.get(a.id) !== undefined && brokenOnRelease(a.apps, release, releaseApps) !== undefined,
  );
  if (broken.length === 0) return [];
  const shown = broken.map((a) => `${a.id} (${a.apps.find((s) => s.app === release.app)?.state})`);
  return [
    `body.release: ${broken.length} agent(s) run ${release.app} ${release.version} already, but their last run of it failed: ${shown.slice(0, 5).join(", ")}${shown.length > 5 ? ", …" : ""}; they are not sent it again and count as failed${brokenHaltText(spec, placed, new Set(broken.map((a) => a.id)), alreadyOn(release, agents, releaseApps))}`,
  ];
}

/**
 * ", enough by themselves to halt the rollout …" when the broken hosts of the waves up to one
 * cross the failure threshold (counted as the engine counts them: failed over the members of the
 * waves started), or "": create halts the rollout before anything is sent when that is the first.
 */
function brokenHaltText(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
  broken: ReadonlySet<string>,
  /** On the release already: members that cannot fail, left out of a percent's base as the engine does. */
  settled: ReadonlySet<string>,
): string {
  let members = 0;
  let failed = 0;
  let on = 0;
  for (const [i, wave] of spec.waves.entries()) {
    for (const [id, w] of placed)
      if (w === i) {
        members++;
        if (broken.has(id)) failed++;
        else if (settled.has(id)) on++;
      }
    if (thresholdCrossed({ ...noStats(), members, failed, alreadyOn: on }, spec.failureThreshold, 0))
      return `, enough by themselves to halt the rollout (${describeThreshold(spec.failureThreshold)}) ${i === 0 ? "as it starts, before anything is sent" : `once wave ${i + 1} (${wave.name}) starts`}`;
  }
  return "";
}

/** Every warning for a rollout of `release` placed as `placed` (empty when there is nothing to say). */
export function rolloutWarnings(...args: Parameters<typeof warningSteps>): string[] {
  return warningSteps(...args).flatMap((step) => step());
}

/**
 * `rolloutWarnings`, letting the event loop run between its passes over the agents: a wave start
 * on PostgreSQL computes them while its connection still has rows to send the database, which a
 * long synchronous stretch would hold in the process (past what the socket's buffers take).
 */
export async function rolloutWarningsInTurns(...args: Parameters<typeof warningSteps>): Promise<string[]> {
  const out: string[] = [];
  for (const step of warningSteps(...args)) {
    out.push(...step());
    await setImmediate();
  }
  return out;
}

/** The warnings' passes, in the order they are said; each pass over the agents is one step. */
function warningSteps(
  release: { id: string; app: string; version: string },
  agents: readonly VersionedCandidate[],
  placed: ReadonlyMap<string, number | undefined>,
  spec: RolloutSpec,
  /** The app of each release id the agents claim (`claimedReleaseApps`): who runs the release already. */
  releaseApps: ReleaseApps,
  forgotten?: ReadonlySet<string>,
): (() => string[])[] {
  let settled: ReadonlySet<string> = new Set();
  let broken: ReadonlySet<string> = new Set();
  // A rollout that sends nothing: how its waves and threshold would play out cannot happen.
  let sendsNothing = false;
  const unlessSendsNothing = (step: () => string[]) => () => (sendsNothing ? [] : step());
  return [
    () => {
      settled = alreadyOn(release, agents, releaseApps);
      const held = [...placed].filter(([, w]) => w !== undefined).map(([id]) => id);
      sendsNothing = held.length > 0 && held.every((id) => settled.has(id));
      return [];
    },
    () => {
      broken = new Set(
        agents.filter((a) => brokenOnRelease(a.apps, release, releaseApps) !== undefined).map((a) => a.id),
      );
      return [];
    },
    () => namedAgentWarnings(spec, release.app, agents, forgotten),
    () => alreadyOnWarnings(release, spec, placed, settled),
    unlessSendsNothing(() => [
      ...emptyWaveWarnings(spec, placed),
      ...everyAgentEarlyWarnings(spec, placed),
      ...oversizedWaveWarnings(spec, placed),
    ]),
    unlessSendsNothing(() => offlineWaveWarnings(spec, agents, placed, settled, broken)),
    unlessSendsNothing(() => offlineThresholdWarnings(spec, agents, placed, settled, broken)),
    () => unplacedWarnings(spec, placed, settled),
    () => downgradeWarnings(release, agents, placed),
    () => brokenWarnings(release, agents, placed, releaseApps, spec),
    () => idleWaveOptionWarnings(spec),
    unlessSendsNothing(() => thresholdWarnings(spec, placed, settled)),
  ];
}
