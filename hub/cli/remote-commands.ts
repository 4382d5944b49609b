import {
  policyText,
  thresholdCountedText,
  waveCountedText,
  wavePassRule,
  waveRule,
} from "../../dashboard/src/rollout-rules.js";
import { printable } from "../../shared/schema/unprintable.js";
import { HubRequestError } from "../errors.js";
import { labelPairsText } from "../label-pairs.js";
import { quotedText } from "../quoted-text.js";
import { isCompletedRollout, isFinalRollout } from "../rollouts/states.js";
import type { rolloutDetail, rolloutSummary } from "../rollouts/view.js";
import type { AgentRecord } from "../store/store.js";
import { refusedInFlagTerms } from "./flag-terms.js";
import { counts, table } from "./format.js";
import { HubClient, type RemoteOptions } from "./hub-client.js";
import { decimalFlag } from "./number-flag.js";
import { say } from "./stderr-lines.js";

type Summary = Awaited<ReturnType<typeof rolloutSummary>>;
export type Detail = Awaited<ReturnType<typeof rolloutDetail>>;
type AgentView = Omit<AgentRecord, "lastSeen"> & { lastSeen: string };

/** The hub's warnings (an empty wave, an unknown agent, a downgrade) on stderr, where a script reading the table does not trip on them. */
export const warnAll = (warnings: readonly string[] | undefined): void => {
  for (const w of warnings ?? []) say(`warning: ${printable(w)}`);
};
export const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** `KEY=VALUE` items; spaces around the key and the value are no part of them (`env = prod`). */
export function pairs(items: string[] | undefined, what: string): Record<string, string> {
  // A Map: a label may be called `constructor` or `__proto__`, which an object literal misreads.
  const labels = new Map<string, string>();
  for (const item of items ?? []) {
    const at = item.indexOf("=");
    const key = item.slice(0, Math.max(at, 0)).trim();
    if (at <= 0 || key === "") throw new RangeError(`${what} ${quotedText(item)}: use KEY=VALUE`);
    const value = item.slice(at + 1).trim();
    // Each must hold, and an agent has one value per label: the later value used to replace the
    // earlier one, so `ring=main` was dropped unsaid and the rollout (or the list) took ring=canary.
    const earlier = labels.get(key);
    if (earlier !== undefined)
      throw new RangeError(
        `${what} ${quotedText(item.trim())}: ${key} is given twice (${key}=${earlier}, ${key}=${value}): an agent carries one value per label, so none matches both`,
      );
    labels.set(key, value);
  }
  return Object.fromEntries(labels);
}

/**
 * A rollout's selector as `KEY=VALUE, KEY=VALUE`, a pair holding a space, a comma, a quote or a
 * backslash in double quotes (labelPairText: as `--selector` would be typed to give it back, and as
 * a labels wave's list reads it).
 */
function selectorText(labels: Readonly<Record<string, string>> | undefined, app: string): string {
  const pairs = labelPairsText(labels ?? {});
  if (pairs.length === 0) return `none (every agent with app ${printable(app)})`;
  return pairs.join(", ");
}

/**
 * The state and the reason, each said once. The hub's reasons begin with the state they explain
 * ("aborted", "aborted; rollback sent to …", "paused by an operator"): printed after it, the state
 * line read `aborted — aborted`. Such a reason runs on from the state; any other follows a dash.
 */
function stateWithReason(state: string, reason: string | null | undefined): string {
  if (!reason) return state;
  const rest = reason.slice(state.length);
  if (reason.startsWith(state) && (rest === "" || /^[;, ]/u.test(rest))) return `${state}${printable(rest)}`;
  return `${state} — ${printable(reason)}`;
}

/**
 * Why a running rollout's auto-advance waits after a hub restart (heard-since-start.ts), in the
 * detail's `held` line and the list's REASON: a list that said nothing read as a stuck rollout.
 */
function heldText(r: Pick<Summary, "advanceHeldUntilHeard">): string | undefined {
  const held = r.advanceHeldUntilHeard;
  if (held === undefined) return undefined;
  return `since the hub started, until ${held.agents.map(printable).join(", ")} of this wave say(s) hello again (each may have left the release while the hub was down), at the latest ${held.until}`;
}

/** The reason for a table's column; undefined when it is no more than the state beside it. */
function reasonPastState(state: string, reason: string | null): string | undefined {
  return reason === null || reason === state ? undefined : printable(reason);
}

export function printDetail(d: Detail): void {
  out(`rollout  ${d.id}`);
  out(`release  ${printable(`${d.release.app} ${d.release.version}`)} (${d.release.id})`);
  // Who the rollout is for: without it an operator saw the waves leave hosts out, and no reason.
  out(`selector ${selectorText(d.spec.selector?.labels, d.release.app)}`);
  out(`policy   ${policyText(d.spec)}`);
  // The figures the threshold is judged by, so the rule above can be checked against them.
  out(`counted  ${thresholdCountedText(d.counted, printable(d.release.version))}`);
  out(`state    ${stateWithReason(d.state, d.reason)}`);
  out(
    `wave     ${d.currentWave + 1}/${d.waves.length} ${printable(d.currentWaveName)}, started ${d.waveStartedAt}${d.autoAdvanceAt ? `; advances by itself once finished, not before ${d.autoAdvanceAt} (${d.advanceHeldUntilHeard ? "held since the hub started" : "its waitMinutes"})` : ""}`,
  );
  const held = heldText(d);
  if (held !== undefined) out(`held     ${held}`);
  out(`agents   ${counts(d.counts, d.restored)}`);
  // As the dashboard's red notice: agents a requested rollback did not reach, by name.
  if ((d.notRolledBack ?? []).length > 0) out(`not rolled back  ${(d.notRolledBack ?? []).join(" ")}`);
  // The hub refuses to create a rollout that holds nobody; one an older hub created is said, not
  // left to a "-": it holds its app until aborted.
  if (d.waves.every((w) => w.agents.length === 0) && !d.final) {
    const labels = Object.keys(d.spec.selector?.labels ?? {}).length > 0;
    out(
      `note     no agent takes part: the rollout waits for an agent with app ${d.release.app}${labels ? ` and labels ${selectorText(d.spec.selector?.labels, d.release.app)}` : ""} to register and blocks other rollouts of ${d.release.app}; abort it if that is not what you meant`,
    );
  }
  for (const w of d.waves) {
    out(
      `\nwave ${w.index + 1} ${printable(w.name)} [${w.status}] ${w.agents.length === 0 ? "no agent" : counts(w.counts, w.restored)}`,
    );
    out(`  takes ${waveRule(d.spec.waves[w.index], labelPairsText)}`);
    const passes = wavePassRule(d.spec.waves[w.index], d.spec.autoAdvance, w.index === d.waves.length - 1);
    if (passes !== undefined) out(`  ${passes}`);
    if (w.agents.length > 0) out(`  counted ${waveCountedText(w.counted, printable(d.release.version))}`);
    if (w.agents.length > 0)
      out(
        table(
          ["AGENT", "STATE", "ONLINE", "ATTEMPTS", "UPDATED", "ERROR"],
          w.agents.map((a) => [
            a.agentId,
            a.state,
            a.online ? "yes" : "no",
            a.attempts,
            a.updatedAt,
            // The wave waits for an offline agent: until when, before it counts as failed. A
            // rollback owed to an offline agent has reached nothing yet.
            a.error ??
              (a.offlineFailsAt !== undefined
                ? `offline: counts as failed at ${a.offlineFailsAt}`
                : a.rollbackOwed && !a.online
                  ? "offline: its rollback instruction goes out when it reconnects"
                  : null),
          ]),
        ),
      );
    // Beneath the table, not in ERROR: a success that warned is still a success.
    for (const a of w.agents)
      for (const warning of a.warnings) out(`${a.agentId}: warning: ${printable(warning)}`);
  }
}

export async function rolloutList(
  options: RemoteOptions & { state?: string; app?: string; limit?: string; after?: string },
): Promise<void> {
  const limit =
    options.limit === undefined ? 100 : decimalFlag(options.limit, `--limit ${quotedText(options.limit)}`);
  if (!(limit !== undefined && Number.isInteger(limit) && limit >= 1 && limit <= 1000))
    throw new RangeError(`--limit ${quotedText(options.limit ?? "")}: use a whole number from 1 to 1000`);
  const client = await HubClient.from(options);
  const query = new URLSearchParams({
    limit: String(limit),
    ...(options.state ? { state: options.state } : {}),
    ...(options.app === undefined ? {} : { app: options.app }),
    ...(options.after === undefined ? {} : { after: options.after }),
  });
  const { rollouts, more, next } = await refusedInFlagTerms(
    client.request<{ rollouts: Summary[]; more?: boolean; next?: string }>(
      "GET",
      `/rollouts?${query.toString()}`,
    ),
    {
      flags: {
        "query.state": "--state",
        "query.app": "--app",
        "query.limit": "--limit",
        "query.after": "--after",
      },
    },
  );
  // On stderr, where a script reading the table does not trip on it, but an operator sees it. The
  // next page is named: past the 1,000th rollout there was no way to list the older ones.
  if (more === true) {
    say(
      `note: only ${options.after === undefined ? "the newest " : ""}${limit} rollout(s) are listed; older ones exist (--limit up to 1000${[
        ...(options.state ? [] : ["--state"]),
        ...(options.app === undefined ? ["--app"] : []),
      ]
        .map((flag) => `, or ${flag}`)
        .join("")})`,
    );
    if (next !== undefined) say(`note: the next page: the same command with --after ${next}`);
  }
  // An app with no rollout and an app the hub has never heard of (a typo, `Web` for `web`) gave the
  // same empty table: said apart on stderr, the table and --json unchanged.
  if (rollouts.length === 0 && options.app !== undefined) {
    const known = await client.request<{ releases: unknown[] }>(
      "GET",
      `/releases?${new URLSearchParams({ app: options.app, limit: "1", manifest: "false" }).toString()}`,
    );
    say(
      known.releases.length === 0
        ? `note: the hub has no release of an app ${JSON.stringify(options.app)} (app names are case-sensitive)`
        : `note: no rollout of ${options.app}${options.state ? ` in state ${options.state}` : ""} yet`,
    );
  }
  if (options.json) return out(JSON.stringify(rollouts, null, 2));
  out(
    table(
      // REASON last: halted or paused by hand, waiting for an operator, completed with failures
      // read alike by their state alone.
      ["ID", "APP", "VERSION", "STATE", "WAVE", "AGENTS", "UPDATED", "REASON"],
      rollouts.map((r) => [
        r.id,
        r.release.app,
        r.release.version,
        r.state,
        `${r.currentWave + 1} ${r.currentWaveName}`,
        counts(r.counts, r.restored),
        r.updated,
        reasonPastState(r.state, r.reason) ??
          (r.advanceHeldUntilHeard ? `auto-advance held ${heldText(r)}` : "-"),
      ]),
    ),
  );
}

export async function rolloutAction(
  action: "show" | "advance" | "pause" | "resume" | "abort",
  id: string,
  options: RemoteOptions & { rollback?: boolean; fromWave?: string; failedSeen?: string },
): Promise<void> {
  // The bodies' rules (zod) are loaded only for a command given these flags: `rollout list` and
  // `show` load no zod (hub/cli-start-up-modules).
  const bodies =
    options.failedSeen === undefined && options.fromWave === undefined
      ? undefined
      : await import("../../shared/api/bodies.js");
  const failedSeen =
    options.failedSeen === undefined
      ? undefined
      : decimalFlag(options.failedSeen, `--failed-seen ${quotedText(options.failedSeen)}`);
  // Checked by the body's own rule: past it the hub's 400 named `body.failedSeen`, not the flag.
  if (
    bodies !== undefined &&
    options.failedSeen !== undefined &&
    (failedSeen === undefined || !bodies.ResumeRollout.safeParse({ failedSeen }).success)
  )
    throw new RangeError(
      `--failed-seen ${quotedText(options.failedSeen)}: use the number of failed agents \`rollout show\` printed (a whole number from 0 to ${bodies.MAX_FAILED_SEEN})`,
    );
  const fromWave =
    options.fromWave === undefined
      ? undefined
      : decimalFlag(options.fromWave, `--from-wave ${quotedText(options.fromWave)}`);
  // The body's rule counts waves from 0; past it `1e+23` was echoed for the 23 digits typed.
  if (
    bodies !== undefined &&
    options.fromWave !== undefined &&
    (fromWave === undefined || !bodies.AdvanceRollout.safeParse({ fromWave: fromWave - 1 }).success)
  )
    throw new RangeError(
      `--from-wave ${quotedText(options.fromWave)}: use the wave's number as \`rollout show\` prints it (1, 2, … up to ${bodies.MAX_WAVES})`,
    );
  const client = await HubClient.from(options);
  const path = `/rollouts/${encodeURIComponent(id)}`;
  let body: object = {};
  let from: Detail | undefined;
  if (action === "abort") body = { rollback: options.rollback ?? false };
  if (action === "resume" && failedSeen !== undefined) body = { failedSeen };
  if (action === "advance") {
    // Advance leaves the wave read here (`fromWave`): of two operators advancing at once, the
    // second gets 409 instead of starting the wave after one nobody looked at.
    from = await client.request<Detail>("GET", path);
    // Said here, in the flag's numbering: the hub's 400 names `body.fromWave`, counted from 0.
    if (fromWave !== undefined && fromWave > from.waves.length) {
      const name = (i: number) => `wave ${i + 1} (${printable(from?.waves[i]?.name ?? "")})`;
      throw new RangeError(
        `--from-wave ${fromWave}: rollout ${from.id} has ${from.waves.length} wave(s), ${name(0)} to ${name(from.waves.length - 1)}`,
      );
    }
    // Without --from-wave, the wave read here may already be one another advance started after
    // this command did (several operators at once): the hub refuses to leave a wave that started
    // after the command, measured as time since it started on this machine's monotonic clock.
    body =
      fromWave === undefined
        ? { fromWave: from.currentWave, decidedMsAgo: Math.round(performance.now()) }
        : { fromWave: fromWave - 1 };
  }
  // A pause or an abort says when the operator decided (and in which wave, with --from-wave): one
  // that lands after the rollout moved on still stops it, and is warned of.
  if ((action === "pause" || action === "abort") && fromWave !== undefined) {
    const seen = await client.request<Detail>("GET", path);
    if (fromWave > seen.waves.length)
      throw new RangeError(
        `--from-wave ${fromWave}: rollout ${seen.id} has ${seen.waves.length} wave(s), numbered 1 to ${seen.waves.length}`,
      );
  }
  if (action === "pause" || action === "abort")
    body = {
      ...body,
      ...(fromWave === undefined ? {} : { fromWave: fromWave - 1 }),
      decidedMsAgo: Math.round(performance.now()),
    };
  const detail = await client.request<
    Detail & { warnings?: string[]; acceptedFailures?: number; failedBefore?: number }
  >(
    action === "show" ? "GET" : "POST",
    action === "show" ? path : `${path}/${action}`,
    action === "show" ? undefined : body,
  );
  warnAll(detail.warnings);
  // A rollback that did not reach every agent is not done: a script must not read "rolled back".
  const missed = action === "abort" && options.rollback === true ? (detail.notRolledBack ?? []) : [];
  if (missed.length > 0) {
    process.exitCode = 1;
    say(
      `not rolled back: ${missed.join(", ")} (no earlier release known, a later rollout of the app took them over, forgotten by an operator, or their rollback failed: see each one's error in \`rollout show\`)`,
    );
  }
  // Resuming after a halt accepts the failures so far (only new ones count toward the threshold);
  // after a pause by hand they still count: said, on stderr where a script reading the view does
  // not trip on it, as the dashboard's question says it.
  // Only those of the waves started: a host of a later wave planned failed (broken on the release
  // already) counts when its wave starts, and was said to be accepted when it was not.
  if (action === "resume") {
    const later = detail.waves
      .filter((w) => w.index > detail.currentWave)
      .reduce((n, w) => n + w.progress.failed, 0);
    // The hub's own count: a wave the resume started (auto-advance) brings failures it did not
    // accept, which the view alone would have counted as accepted (an older hub sends none).
    const accepted = detail.acceptedFailures ?? detail.progress.failed - later;
    // An older hub accepted every failure so far on any resume, and sent no `failedBefore`.
    const before = detail.failedBefore ?? accepted;
    const started = detail.progress.failed - later - before;
    // Of those, what stays counted: none after a halt; after a pause by hand, all but the
    // failures an earlier halt's resume accepted (the view's `counted.accepted`).
    const counted = accepted > 0 ? 0 : before - (detail.counted?.accepted ?? 0);
    if (accepted > 0)
      say(
        `note: resumed with ${accepted} failure(s) so far accepted: only failures from now on count toward the threshold`,
      );
    if (counted > 0)
      say(
        `note: ${counted} failure(s) so far still count toward the threshold: the rollout was paused, not halted on it, and a resume accepts failures only after a halt`,
      );
    if (started > 0)
      say(
        `note: ${started} failure(s) in wave ${detail.currentWave + 1} (${printable(detail.currentWaveName)}), which started on this resume, are not accepted: they count toward the threshold`,
      );
    if (later > 0)
      say(
        `note: ${later} failure(s) in waves not started yet are not accepted: they count toward the threshold when their wave starts`,
      );
  }
  // The wait goes on where the pause stopped it: said, so nobody expects the next wave at once. After
  // a hub restart the hold until the wave's agents are heard again may set the time instead
  // (view.ts autoAdvanceAt), and blaming the waitMinutes then sent the operator the wrong way.
  if (action === "resume" && detail.autoAdvanceAt !== undefined) {
    const held = detail.advanceHeldUntilHeard?.until === detail.autoAdvanceAt ? heldText(detail) : undefined;
    say(
      `note: wave ${detail.currentWave + 1} (${printable(detail.currentWaveName)}) advances by itself once finished, not before ${detail.autoAdvanceAt}: ${held ? `auto-advance held ${held}` : "the time it stood paused does not count toward its waitMinutes"}`,
    );
  }
  // An abort calls nobody back: agents already sent the release finish (the dashboard's question
  // says the same), which an operator reading "aborted" would not guess.
  const inFlight = detail.progress["in-progress"];
  if (action === "abort" && options.rollback !== true && inFlight > 0)
    say(
      `note: ${inFlight} agent(s) already sent the release finish their update; \`rollout abort ${detail.id} --rollback\` sends the updated ones back`,
    );
  // A pause stops new sends only, as the dashboard's question says: the hosts mid-update go on, and
  // their failures still count (past the threshold the paused rollout halts).
  if (action === "pause" && inFlight > 0)
    say(
      `note: no agent is sent the release while paused, but ${inFlight} agent(s) already sent it finish their update; their failures still count toward the threshold`,
    );
  if (options.json) return out(JSON.stringify(detail, null, 2));
  if (from)
    out(
      // Names stored before the hub refused control characters in them are still shown.
      `advanced from wave ${from.currentWave + 1}/${from.waves.length} ${printable(from.currentWaveName)} to ${detail.currentWave + 1}/${detail.waves.length} ${printable(detail.currentWaveName)}`,
    );
  printDetail(detail);
}

/**
 * `rollout show ID [--watch]`: with --watch, redraws until the rollout ends or waits for an
 * operator's decision (the API's `needsDecision`); exit 0 only when it completed with no agent
 * failed and none still updating (the words of its --help and the README); agents left out (not
 * applicable, forgotten, cancelled) do not count, so 0 is not "every agent on the release".
 */
export async function rolloutShow(
  id: string,
  options: RemoteOptions & { watch?: boolean; interval?: string },
): Promise<void> {
  // Refused, not ignored: `--interval abc` without --watch printed the rollout once, unread.
  if (!options.watch && options.interval !== undefined)
    throw new RangeError(
      "--interval applies to --watch only: without it `rollout show` prints the rollout once",
    );
  if (!options.watch) return rolloutAction("show", id, options);
  const seconds = decimalFlag(options.interval ?? "2", `--interval ${quotedText(options.interval ?? "2")}`);
  // Past 2^31 ms a timer fires at once: a huge interval would poll the hub in a tight loop.
  if (seconds === undefined || !(seconds >= 0.1 && seconds <= 3600))
    throw new RangeError(
      `--interval ${quotedText(options.interval ?? "")}: use a number of seconds from 0.1 to 3600`,
    );
  const client = await HubClient.from(options);
  const read = () => client.request<Detail>("GET", `/rollouts/${encodeURIComponent(id)}`);
  // The first read fails as any command does (a wrong --hub, an id that is no rollout's).
  let detail = await read();
  for (;;) {
    if (options.json) out(JSON.stringify(detail));
    else {
      // On a terminal each view replaces the last; piped, views follow one another.
      if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
      else out(`--- ${new Date().toISOString()}`);
      printDetail(detail);
    }
    // `needsDecision`: halted on its threshold, or waiting for an operator — a wave finished below
    // its minSuccessRate, or one that tested nothing (no agent in it while later waves hold some,
    // its agents all forgotten, no longer taking part, on the release already or never answering),
    // or a last wave or whole rollout held for the same reason. Nothing but an operator moves it
    // on, with autoAdvance or without, and a script waiting here would hang until someone did.
    // A pause by hand is not this: its operator knows, and the watch goes on.
    if (detail.needsDecision) {
      say(
        `stopped watching: rollout ${detail.id} waits for an operator's decision: ${printable(detail.reason ?? detail.state)}; \`ship-hub rollout\` ${detail.actions.map((a) => (a === "abort-rollback" ? "abort --rollback" : a)).join(", ")}`,
      );
      process.exitCode = 1;
      return;
    }
    // Aborted or failed with rollback instructions still out: the hosts are not back yet, and an
    // operator watching the rollback wants to see them land (or time out), not an exit at once.
    const rollingBack = !isCompletedRollout(detail.state) && (detail.counts.rollback_pending ?? 0) > 0;
    if (isFinalRollout(detail.state) && !rollingBack) {
      // A rollout completes with failures below its threshold, or with an agent that came back
      // after it completed still updating: a script waiting on it must not read "every host is on
      // the release" from that.
      const { failed, pending } = detail.progress;
      const owed = detail.progress["in-progress"] + pending;
      process.exitCode = isCompletedRollout(detail.state) && failed === 0 && owed === 0 ? 0 : 1;
      return;
    }
    await sleep(seconds);
    detail = await throughOutage(read, seconds);
  }
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** How long `--watch` goes on trying a hub it cannot reach (or whose database is down) before it gives up. */
const WATCH_OUTAGE_SECONDS = 300;

/**
 * `read()`, tried again every `seconds` while the hub is unreachable or answers 5xx: a hub restarted
 * under a watch (an upgrade, a crash its service manager restarts) ended it with exit 1, which a
 * script waiting on the rollout read as the rollout's failure. Said on stderr when it starts and
 * ends; past WATCH_OUTAGE_SECONDS the last error stands (exit 1). A refusal (4xx) is not retried.
 */
async function throughOutage<T>(read: () => Promise<T>, seconds: number): Promise<T> {
  let since: number | undefined;
  for (;;) {
    try {
      const value = await read();
      if (since !== undefined) say("hub answering again: still watching");
      return value;
    } catch (error) {
      if (!(error instanceof HubRequestError) || error.status < 500) throw error;
      const now = performance.now();
      if (since === undefined) {
        since = now;
        say(
          `${printable(error.message)}: still watching, trying again every ${seconds} s for up to ${WATCH_OUTAGE_SECONDS / 60} min`,
        );
      } else if (now - since >= WATCH_OUTAGE_SECONDS * 1000) throw error;
      await sleep(seconds);
    }
  }
}

export interface AgentsOptions extends RemoteOptions {
  app?: string;
  version?: string;
  state?: string;
  selector?: string[];
  status?: string;
}

export async function agentsList(options: AgentsOptions): Promise<void> {
  const query = new URLSearchParams();
  for (const key of ["app", "version", "state", "status"] as const) {
    const value = options[key];
    if (value !== undefined) query.set(key, value);
  }
  // Checked here as `rollout create` checks it: the hub's "must be key=value" would name query.label.
  for (const [k, v] of Object.entries(pairs(options.selector, "--selector")))
    query.append("label", `${k}=${v}`);
  const client = await HubClient.from(options);
  const { agents, fleet, forgotten } = await refusedInFlagTerms(
    client.request<{ agents: AgentView[]; fleet?: number; forgotten?: number }>(
      "GET",
      `/agents${query.size > 0 ? `?${query.toString()}` : ""}`,
    ),
    {
      flags: {
        "query.app": "--app",
        "query.version": "--version",
        "query.state": "--state",
        "query.status": "--status",
        "query.label": "--selector",
      },
    },
  );
  // A filter that matches nobody: said, on stderr, so an empty table does not read as an empty fleet.
  if (agents.length === 0 && query.size > 0 && fleet !== undefined && fleet > 0)
    say(`note: no agent matches these filters (the hub knows ${fleet} agent(s))`);
  // An empty fleet printed a bare header: an operator could not tell it from a hub that failed to list.
  if (agents.length === 0 && (query.size === 0 || fleet === 0) && forgotten !== undefined)
    say(
      `note: no agent left in the fleet: the hub knows ${forgotten} agent(s), all forgotten (\`ship-hub agents forget\`); one rejoins when it connects with a new agent token (\`ship-hub token create --role agent --agent ID\`)`,
    );
  else if (agents.length === 0 && (query.size === 0 || fleet === 0))
    say(
      "note: the hub knows no agent yet: an agent appears once `ship agent` connects with an agent token (`ship-hub token create --role agent --agent ID`) and the hub's url in [hub] of its ship.toml",
    );
  if (options.json) return out(JSON.stringify(agents, null, 2));
  out(
    table(
      ["AGENT", "HOST", "ONLINE", "LAST SEEN", "LABELS", "APPS"],
      agents.map((a) => [
        a.id,
        a.hostname,
        a.online ? "yes" : "no",
        a.lastSeen,
        // Quoted where a pair holds a comma: `zone=rack a,b,env=prod` read as three pairs.
        labelPairsText(a.labels).join(","),
        // With its state: a host whose restore failed must not read like one that updated.
        a.apps.map((p) => `${p.app}@${p.version ?? "?"} (${p.state})`).join(" "),
      ]),
    ),
  );
}

/** `agents forget ID`: a decommissioned agent out of the fleet, its tokens revoked. */
export async function agentsForget(id: string, options: RemoteOptions & { json?: boolean }): Promise<void> {
  const client = await HubClient.from(options);
  const done = await client.request<{
    id: string;
    revokedTokens: string[];
    activeRollouts: string[];
    rollbacksEnded?: string[];
  }>("POST", `/agents/${encodeURIComponent(id)}/forget`, {});
  if (options.json) return out(JSON.stringify(done, null, 2));
  out(
    `forgot agent ${printable(id)}: out of \`ship-hub agents\` and of new rollouts; its past deployments stay in their rollouts`,
  );
  out(
    done.revokedTokens.length > 0
      ? `revoked its ${done.revokedTokens.length} agent token(s): ${done.revokedTokens.join(" ")}`
      : "it had no agent token in force",
  );
  out(
    `if it comes back, give it a new token (\`ship-hub token create --role agent --agent ${printable(id)}\`): it rejoins as the same agent, with its history`,
  );
  // Taken out of rollouts under way: said, since their waves are smaller than the operator planned.
  if (done.activeRollouts.length > 0)
    out(
      `its unfinished deployment in rollout(s) ${done.activeRollouts.join(", ")} is now forgotten: not a failure nor a success, and no longer waited for (\`ship-hub rollout show ID\`)`,
    );
  const rollbacks = done.rollbacksEnded ?? [];
  if (rollbacks.length > 0)
    out(
      `it was NOT rolled back by rollout(s) ${rollbacks.join(", ")}: the rollback instruction it owed is ended (not a failure); it may still run that release, and is sent the rollback again if it rejoins`,
    );
}
