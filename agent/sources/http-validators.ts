/**
 * Which of an answer's validators (ETag, Last-Modified) may ask "changed since?" at the next check.
 * Last-Modified has whole seconds, and servers make ETags of it (nginx: mtime-size; Node's send:
 * W/size-mtime): an archive rebuilt with the same size in the second it was served keeps both, and
 * the server answers 304 over the new release. So git's racy rule (racy-rule.ts): validators are
 * kept only when Last-Modified is older than the answer (its Date, else our clock before asking)
 * by more than RACY_MS. A weak ETag with no Last-Modified to judge it by is not kept either (a weak
 * ETag is what servers make of a timestamp); a strong one alone is (S3's, a content hash). Not
 * keeping them costs the next check an unconditional GET: the archive is downloaded once more, and
 * the run ends up to date when it is the installed one, keeping the validators that have settled.
 */
import { settledWhenSeen } from "../tree/racy-rule.js";

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface AnswerValidators extends Validators {
  /** The answer's Date header. */
  date?: string;
}

/**
 * The validators to keep for the next check, and why none are when none are; `byOurClock` when our
 * clock judged them (no Date): a later run whose clock reads earlier must not trust them.
 */
export function validatorsToKeep(
  answer: AnswerValidators,
  askedAtMs: number,
): { keep: Validators; byOurClock?: number } | { keep: Record<string, never>; why: string } {
  const { etag, lastModified } = answer;
  if (lastModified === undefined) {
    if (etag?.startsWith("W/") === true)
      return { keep: {}, why: "a weak ETag with no Last-Modified may stand for a timestamp of unknown age" };
    return { keep: etag === undefined ? {} : { etag } };
  }
  const date = answer.date === undefined ? Number.NaN : Date.parse(answer.date);
  const seenAt = Number.isFinite(date) ? date : askedAtMs;
  if (!settledWhenSeen(Date.parse(lastModified), seenAt))
    return {
      keep: {},
      why: `Last-Modified (${lastModified}) is not older than the answer (${answer.date ?? "no Date; this host's clock"}) by more than the clock's granularity`,
    };
  const keep = etag === undefined ? { lastModified } : { etag, lastModified };
  return Number.isFinite(date) ? { keep } : { keep, byOurClock: askedAtMs };
}
