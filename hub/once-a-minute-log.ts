/**
 * A line that could be written once per agent and attempt (a renewal that cannot be stored while
 * the hub's database is unreachable, a token that cannot be looked up, a connection refused to a
 * flooding address): so written, an outage wrote one line per agent a second (1,000 agents due
 * for renewal: 60,000 lines a minute), burying the line that says what is wrong. The first of a
 * minute is logged at once; the rest of that minute are counted and said in one line when it ends.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../shared/log.js";
import { monotonicNow } from "./cluster/clock.js";

const MINUTE_MS = 60_000;

/**
 * Distinct subjects a window tells apart. A subject can be chosen by a client (the API's is the
 * request's path, any valid token picks it), and each was kept until the window ended: during an
 * outage a client sending a new path each time grew the set without bound. Past this many, lines
 * are counted as left out of the distinct count instead.
 */
export const MAX_SUBJECTS_TOLD_APART = 1000;
/** A longer subject (a path can be 16 KB) is kept by its digest, so the set stays small. */
const LONGEST_SUBJECT_KEPT = 128;

export interface OnceAMinuteOptions {
  level?: "error" | "warn";
  /** The field naming who it happened to (default `agentId`); the summary counts them, `${subject}s`. */
  subject?: string;
  /** The field saying what happened (default `error`); the summary gives the last, `last${Detail}`. */
  detail?: string;
  /** A minute; tests shorten it. */
  windowMs?: number;
}

export class OnceAMinuteLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private more = 0;
  private readonly subjects = new Set<string>();
  private leftOut = 0;
  private lastDetail = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly level: "error" | "warn";
  private readonly subject: string;
  private readonly detail: string;
  private readonly windowMs: number;

  constructor(
    private readonly log: Logger,
    /** What happened, the line's message: "could not renew an agent token". */
    private readonly message: string,
    /**
     * Elapsed time, not the wall clock: set back an hour, the minute under way lasted 61 and every
     * line of it after the first went unsaid for the hour.
     */
    private readonly now: () => number = monotonicNow,
    options: OnceAMinuteOptions = {},
  ) {
    this.level = options.level ?? "error";
    this.subject = options.subject ?? "agentId";
    this.detail = options.detail ?? "error";
    this.windowMs = options.windowMs ?? MINUTE_MS;
  }

  record(subject: string | undefined, detail: string): void {
    const at = this.now();
    if (at - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = at;
      this.log[this.level](this.message, {
        ...(subject === undefined ? {} : { [this.subject]: subject }),
        [this.detail]: detail,
      });
      return;
    }
    this.more++;
    if (subject !== undefined) this.count(subject);
    this.lastDetail = detail;
    // An outage that ends (or a fleet that goes quiet) is still counted: the window's end says it.
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - at)).unref();
  }

  private count(subject: string): void {
    const key =
      subject.length > LONGEST_SUBJECT_KEPT ? createHash("sha256").update(subject).digest("base64") : subject;
    if (this.subjects.has(key)) return;
    if (this.subjects.size < MAX_SUBJECTS_TOLD_APART) this.subjects.add(key);
    else this.leftOut++;
  }

  /** Says what the window left unsaid, if anything. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.more === 0) return;
    const last = `last${this.detail[0]?.toUpperCase()}${this.detail.slice(1)}`;
    this.log[this.level](`${this.message}: more in the same minute, not logged one by one`, {
      more: this.more,
      // A line about no one in particular (a rollout tick) counts no one.
      ...(this.subjects.size > 0 ? { [`${this.subject}s`]: this.subjects.size } : {}),
      // Lines past the first MAX_SUBJECTS_TOLD_APART distinct subjects, not told apart.
      ...(this.leftOut > 0 ? { [`${this.subject}sLeftOut`]: this.leftOut } : {}),
      [last]: this.lastDetail,
    });
    this.more = 0;
    this.subjects.clear();
    this.leftOut = 0;
  }

  /** The hub stops: nothing is written after it. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
