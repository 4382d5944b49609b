/** hub.toml: every key typed, with its default; unknown keys are errors (a typo must not pass silently). */
import * as z from "zod";
import { limitMegabytes } from "../../shared/schema/megabytes.js";
import { nonEmptyText } from "../../shared/schema/non-empty.js";
import { parseDatabaseUrl, urlHosts } from "../store/postgres-url.js";

export const DEFAULT_DATA_DIR = "./ship-hub-data";

/** ship.toml's wording; zod's own read "must be at least 1 characters long". */
const nonEmpty = nonEmptyText;

/** pino's levels the hub takes; `silent` logs nothing. The README lists them (a docs test keeps it so). */
export const hubLogLevels = ["debug", "info", "warn", "error", "silent"] as const;

export const DATABASE_URL_SCHEME = "must be a postgres:// or postgresql:// URL";

/**
 * What is wrong with a database URL the driver would choke on, as words that never quote the URL
 * (it may carry a password); undefined when it is usable.
 */
export function databaseUrlProblem(url: string): string | undefined {
  if (!/^postgres(ql)?:\/\/\S/.test(url)) return DATABASE_URL_SCHEME;
  // A space in a password pasted as is: the scheme is right, so saying it was not is wrong.
  if (/\s/.test(url))
    return "is not a valid URL: it holds a space (or other white space); percent-encode it in the user name or password (%20)";
  const hosts = urlHosts(url);
  // libpq's list of hosts (the driver tries them in turn and keeps the primary), but not every
  // form of it: the driver splits each entry at its first ':' and reads a '/' as a socket path.
  if (hosts.length > 1) {
    const bad = hosts.find((h) => h === "" || h.startsWith("[") || /%2f/i.test(h));
    if (bad !== undefined)
      return bad === ""
        ? "names several hosts with an empty one between its commas"
        : `names several hosts, one of them ${bad.startsWith("[") ? "an IPv6 address" : "a unix socket"} (${bad}), which ship-hub's PostgreSQL driver cannot use in a list: name each host by its DNS name or IPv4 address`;
  }
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined) {
    const authority = url.slice(url.indexOf("//") + 2).split(/[/?#]/)[0] ?? "";
    const host = authority.slice(authority.lastIndexOf("@") + 1);
    // libpq forms the parser refuses; each said "check the host and port", which did not help.
    // With no host the URL parses but for this (postgres-url.ts hostlessInQuery).
    if (host === "" && authority.includes("@"))
      return "is not a valid URL: a %-escape in the user name or password is malformed";
    return "is not a valid URL: check the host and port, and percent-encode @ : / # ? in the user name or password";
  }
  try {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  } catch {
    return "is not a valid URL: a %-escape in the user name or password is malformed";
  }
  // The hub decodes the database name as libpq does; a bad escape there threw "URI malformed", exit 1.
  try {
    decodeURIComponent(parsed.pathname);
  } catch {
    return "is not a valid URL: a %-escape in the database name is malformed";
  }
  return undefined;
}

/** The one rule for a database URL, wherever it comes from (hub.toml, flag, environment). */
export const DatabaseUrl = z.string().superRefine((url, ctx) => {
  const problem = databaseUrlProblem(url);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * A span that drives a timer, in a unit of `unitMs` milliseconds, bounded both ways. Past 2^31 ms
 * Node fires a timer at once (a huge interval would become a busy loop), and a timeout of years
 * only means "never"; under a millisecond Node runs the timer every millisecond, so
 * `ping_interval_seconds = 1e-9` pinged every agent a thousand times a second.
 */
const span = (unitMs: number, max: number, maxWords: string) =>
  z
    .number()
    .positive({ abort: true })
    .min(
      1 / unitMs,
      `must be ≥ ${Number((1 / unitMs).toPrecision(3))} (a millisecond: a timer counts no finer)`,
    )
    .max(max, `must be ≤ ${max} (${maxWords})`);
const seconds = (max: number, maxWords: string) => span(1000, max, maxWords);

export const HubConfig = z
  .strictObject({
    /** Interface to listen on; 127.0.0.1 unless you put a TLS proxy or firewall in front. */
    host: nonEmpty().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Holds hub.db, artifacts/ and the generated signing secret. */
    data_dir: nonEmpty().default(DEFAULT_DATA_DIR),
    /** SQLite file; default <data_dir>/hub.db. */
    db: nonEmpty().optional(),
    /**
     * PostgreSQL shared by several hubs (postgres://user:pass@host:5432/db): every hub command uses it
     * instead of the SQLite file, artifacts included; needs a shared jwt_secret_file or SHIP_HUB_SECRET.
     */
    database_url: DatabaseUrl.optional(),
    /** File with the HS256 secret (>= 32 bytes); default <data_dir>/secret, generated on first start. */
    jwt_secret_file: nonEmpty().optional(),
    ping_interval_seconds: seconds(3600, "an hour").default(30),
    /** An agent offline this long after its wave started counts as failed (timed_out). */
    offline_timeout_seconds: seconds(2_592_000, "30 days").default(900),
    /**
     * A deployment sent to an agent (online or not) with no progress and no report for this long
     * counts as failed (timed_out): an agent that lost an instruction must not hold a rollout forever.
     */
    progress_timeout_seconds: seconds(2_592_000, "30 days").default(3600),
    /** How often stored timestamps are re-evaluated (auto-advance, timeouts). */
    tick_interval_seconds: seconds(60, "a minute").default(1),
    /**
     * Cluster mode: how often each hub looks for due deployments of its own agents besides the
     * LISTEN/NOTIFY wake-up; the most a missed wake-up delays a deploy.
     */
    cluster_resync_seconds: seconds(3600, "an hour").default(3),
    /** Cluster mode: how often each hub writes its heartbeat row. */
    cluster_heartbeat_seconds: seconds(3600, "an hour").default(5),
    /**
     * Cluster mode: a hub whose heartbeat is older than this is dead (the others mark its agents
     * offline), and a hub that could not write its own for this long closes its agents' sockets.
     */
    cluster_hub_timeout_seconds: seconds(86_400, "a day").default(30),
    max_artifact_mb: limitMegabytes().default(4096),
    /** Largest WebSocket message accepted from an agent. */
    max_message_kb: z
      .number()
      // An agent's hello (its apps, versions and labels) and reports take KBs to tens of KB: under the
      // floor an agent was closed (1009) at every connect, hello included, and reconnected until 429.
      .min(
        64,
        "must be ≥ 64: an agent's hello and reports take tens of KB, and a larger one is closed at every connect",
      )
      .max(1_048_576, "must be ≤ 1048576 (1 GiB)")
      .default(1024),
    /** Reports one agent may hand in per minute; more wait in its outbox until it reconnects. */
    max_reports_per_minute: z.number().int().positive().max(1_000_000).default(120),
    /** Reports kept per agent (newest first); older ones are deleted every minute. */
    report_keep_per_agent: z.number().int().positive().max(1_000_000).default(500),
    /** Reports older than this are deleted, whatever their count. */
    report_keep_days: z.number().positive().max(36_500, "must be ≤ 36500 (100 years)").default(90),
    /**
     * An uploaded artifact no release names (CI stopped after the upload, the publish was refused)
     * is removed once it is this old: the time CI has to publish what it uploaded.
     */
    unused_artifact_keep_hours: z.number().positive().max(87_600, "must be ≤ 87600 (10 years)").default(24),
    /** How often unused artifacts are looked for; also once at every start. */
    unused_artifact_sweep_minutes: span(60_000, 1440, "a day").default(60),
    log_level: z.enum(hubLogLevels).default("info"),
  })
  .superRefine((config, ctx) => {
    // Each hub's watchdog drops its own agents, and the others release them, once its last heartbeat
    // is older than the timeout: a heartbeat that comes later than that would do so between beats.
    const beat = config.cluster_heartbeat_seconds;
    const timeout = config.cluster_hub_timeout_seconds;
    if (timeout < 2 * beat)
      ctx.addIssue({
        code: "custom",
        path: ["cluster_hub_timeout_seconds"],
        message: `${timeout} must be at least twice cluster_heartbeat_seconds (${beat}), so ${2 * beat} or more: a hub whose last heartbeat is older counts as dead (the other hubs mark its agents offline, and it closes their connections itself)`,
      });
  });
export type HubConfig = z.infer<typeof HubConfig>;
