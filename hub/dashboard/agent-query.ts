/**
 * The fleet list as the dashboard and the CLI page through it: filters, counts and facets computed
 * on the hub, so a browser never downloads 10,000 agents to show 50.
 */
import * as z from "zod";
import { AgentId } from "../../shared/protocol/agent-id.js";
import { APP_STATES } from "../../shared/protocol/app-states.js";
import { isBlankName } from "../../shared/schema/shows-nothing.js";
import { compareVersions } from "../../shared/versions.js";
import { notBlank, queryCount, queryFlag, queryWord } from "../api/query-params.js";
import type { AgentRecord } from "../store/store.js";

// A blank `label=` was dropped unsaid (every agent matched that filter): it is no key=value.
const oneOrMany = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

export const AgentQuery = z.strictObject({
  /** Absent: every matching agent (what `ship-hub agents` has always received). */
  limit: queryCount(1, 1000).optional(),
  offset: queryCount(0).optional(),
  /**
   * The `next` of the page before (the id of its last agent): the page starts after it in id order,
   * so agents that join, leave or stop matching while a caller pages move no other agent onto a page
   * read already (by offset one joining before it showed the last agent read again). An agent id:
   * anything else placed the page past every agent, an empty page that read as the end.
   */
  after: notBlank(AgentId).optional(),
  /**
   * The first agent of the page shown: the page is the `limit` agents just before it, so a page read
   * backwards joins the one it was read from whatever joined or left meanwhile (the first page
   * again, read from the start, skipped the agents that insertions pushed off its end). Where fewer
   * than `limit` agents come before it, the first page, whole.
   */
  before: notBlank(AgentId).optional(),
  /** `key=value`, repeatable; an agent must carry every one. */
  label: oneOrMany
    .pipe(
      z.array(
        z
          .string()
          .regex(/^\s*[^=\s][^=]*=.*$/, { error: "must be key=value", abort: true })
          // As a selector's label name: a key of invisible characters alone names no label.
          .refine(
            (pair) => !isBlankName(pair.slice(0, pair.indexOf("="))),
            "must be key=value: its key shows nothing (a zero-width space, a Hangul filler …)",
          ),
      ),
    )
    .optional(),
  app: queryWord().optional(),
  /** With `app`: that app's version; without: any app's. Same for `state`. */
  version: queryWord().optional(),
  /** One of the states agents announce and reports set (a typo is a 400, not an empty list). */
  state: z.enum(APP_STATES as [string, ...string[]]).optional(),
  status: z.enum(["online", "offline"]).optional(),
  /** Substring of the agent id or hostname, case-insensitive. */
  q: queryWord().optional(),
  facets: queryFlag().optional(),
});
export type AgentQuery = z.output<typeof AgentQuery>;

export interface AgentFacets {
  labels: Record<string, string[]>;
  apps: string[];
  versions: string[];
  states: string[];
}

/**
 * Spaces beside the `=` (and at the ends) are no part of the name or the value, as `--selector` and
 * the rollout form read a pair: `?label= env = prod`, which the pattern above takes, looked for a
 * label " env" of value " prod" and answered a 200 listing nobody. No agent carries a name or a
 * value with spaces at its ends (the hub trims a hello's names and values, shared/protocol/agent-id.ts
 * HelloLabels), so a pair is never read as written.
 */
function parseLabels(pairs: readonly string[]): [string, string][] {
  return pairs.map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

/**
 * The fleet's word for an app state: a report's `succeeded` is stored as `updated` (the word the
 * agent's next hello uses), but rows written before that, and callers who learnt the report's word,
 * still say `succeeded`. `?state=succeeded` matched nothing new, so a script counting the hosts it
 * updated read zero; both words now name one state.
 */
export function fleetState(state: string): string {
  return state === "succeeded" ? "updated" : state;
}

/**
 * Whether a version an agent runs is the one asked for, as versions compare (`v2.0.0` is 2.0.0), as
 * `rollout create --app --version` finds a release: `agents --version v2.0.0` listed nobody on 2.0.0.
 * A fleet runs few distinct versions: each is compared once per query (`seen`).
 */
function sameVersion(version: string | null, wanted: string, seen: Map<string, boolean>): boolean {
  if (version === null) return false;
  if (version === wanted) return true;
  let same = seen.get(version);
  if (same === undefined) {
    same = compareVersions(version, wanted) === 0;
    seen.set(version, same);
  }
  return same;
}

function matches(
  agent: AgentRecord,
  online: boolean,
  query: AgentQuery,
  labels: readonly [string, string][],
  versions: Map<string, boolean>,
): boolean {
  if (query.status && (query.status === "online") !== online) return false;
  if (query.q) {
    const needle = query.q.toLowerCase();
    if (!agent.id.toLowerCase().includes(needle) && !agent.hostname.toLowerCase().includes(needle))
      return false;
  }
  for (const [key, value] of labels) if (agent.labels[key] !== value) return false;
  const apps = query.app ? agent.apps.filter((a) => a.app === query.app) : agent.apps;
  if (query.app && apps.length === 0) return false;
  const wanted = query.version;
  if (wanted && !apps.some((a) => sameVersion(a.version, wanted, versions))) return false;
  const state = query.state === undefined ? undefined : fleetState(query.state);
  if (state && !apps.some((a) => fleetState(a.state) === state)) return false;
  return true;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** What the filter inputs can offer, over the whole fleet (not just the filtered page). */
export function fleetFacets(agents: readonly AgentRecord[]): AgentFacets {
  const labels = new Map<string, Set<string>>();
  for (const agent of agents)
    for (const [k, v] of Object.entries(agent.labels)) labels.set(k, (labels.get(k) ?? new Set()).add(v));
  const apps = agents.flatMap((a) => a.apps);
  return {
    labels: Object.fromEntries(
      [...labels].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sorted(v)]),
    ),
    apps: sorted(apps.map((a) => a.app)),
    versions: sorted(apps.flatMap((a) => (a.version === null ? [] : [a.version]))),
    states: sorted(apps.map((a) => fleetState(a.state))),
  };
}

export interface AgentPage {
  agents: (AgentRecord & { online: boolean })[];
  /** Agents matching the filters, before paging. */
  total: number;
  online: number;
  offset: number;
  limit: number | null;
  /** With a limit, when matching agents follow the page: its last agent's id, passed back as `after`. */
  next?: string;
  /** Agents the hub knows, filters aside. */
  fleet: number;
  facets?: AgentFacets;
}

/** Where the page starts and ends among `matching` (in id order): at `after`, up to `before`, or at `offset`. */
function pageBounds(matching: readonly AgentRecord[], query: AgentQuery): [number, number] {
  const { after, before, limit } = query;
  // Ids are ASCII (agent-id.ts), so `<` orders them as the store does (byte order).
  if (before !== undefined) {
    const upTo = matching.filter((a) => a.id < before).length;
    if (limit === undefined) return [0, upTo];
    const start = Math.max(0, upTo - limit);
    return [start, start + limit];
  }
  const start = after === undefined ? (query.offset ?? 0) : matching.filter((a) => a.id <= after).length;
  return [start, limit === undefined ? matching.length : start + limit];
}

/** Filters, counts and pages `agents` (already in id order, as the store returns them). */
export function queryAgents(
  agents: readonly AgentRecord[],
  query: AgentQuery,
  isOnline: (agentId: string) => boolean,
): AgentPage {
  const matching: (AgentRecord & { online: boolean })[] = [];
  let online = 0;
  const versions = new Map<string, boolean>();
  const labels = parseLabels(query.label ?? []);
  for (const agent of agents) {
    const up = isOnline(agent.id);
    if (!matches(agent, up, query, labels, versions)) continue;
    // A row stored before reports said `updated` reads in the fleet's word too.
    const apps = agent.apps.some((a) => a.state === "succeeded")
      ? agent.apps.map((a) => ({ ...a, state: fleetState(a.state) }))
      : agent.apps;
    matching.push({ ...agent, apps, online: up });
    if (up) online++;
  }
  const [offset, end] = pageBounds(matching, query);
  const shown = matching.slice(offset, end);
  const last = shown.at(-1);
  return {
    agents: shown,
    total: matching.length,
    online,
    offset,
    limit: query.limit ?? null,
    ...(end < matching.length && last ? { next: last.id } : {}),
    fleet: agents.length,
    ...(query.facets ? { facets: fleetFacets(agents) } : {}),
  };
}
