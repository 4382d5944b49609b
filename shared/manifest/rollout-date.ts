/**
 * The dates a standalone staged rollout starts from (`rollout.start`, `release_date`), read the
 * same on every host. `Date.parse` was used before and took far more than ISO 8601: "1" as
 * 2001-01-01, "2026-02-30" as 2 March, "Dec 5 2026" — a typo opened every stage at once — and a
 * date-time without an offset in each host's own time zone, so hosts in two zones disagreed on
 * when a stage opens, where the README promises that every host decides alone and all agree.
 *
 * The forms are RFC 3339's full-date and date-time with its offset (minutes' precision allowed),
 * checked by zod's ISO formats (days of each month, leap years, hours 00–23, offsets ±HH:MM);
 * `T` and `Z` may be lower case and `T` a space (RFC 3339 §5.6). Such a text is ECMAScript's date-time string
 * format, so `Date.parse` reads it the same everywhere: a date alone as midnight UTC.
 */
import { z } from "zod";

/** zod's ISO date-time with `options`, to the second or finer, or to the minute. */
const dateTime = (options: { offset?: boolean; local?: boolean }) =>
  z.union([z.iso.datetime(options), z.iso.datetime({ ...options, precision: -1 })]);

const WITH_ZONE = z.union([z.iso.date(), dateTime({ offset: true })]);
/** The same date-times without their zone (`local` also takes a zone: tried after WITH_ZONE). */
const WITHOUT_ZONE = dateTime({ local: true });
/** The shape of an ISO date or date-time whatever its numbers: only the calendar can be wrong. */
const ISO_SHAPE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** Why a text is no rollout date: no ISO form, a day the calendar lacks, or no time zone. */
export type RolloutDate = { ok: true; ms: number } | { ok: false; why: string; zoneOnly: boolean };

/**
 * Reads `text` as ISO 8601 (RFC 3339), or says why it is not one every host reads alike (`why`
 * begins "not an ISO date-time" and names the text; callers add the key and an example).
 */
export function parseRolloutDate(text: string): RolloutDate {
  const iso = text.toUpperCase().replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, "$1T");
  if (WITH_ZONE.safeParse(iso).success) return { ok: true, ms: Date.parse(iso) };
  const quoted = JSON.stringify(text);
  if (WITHOUT_ZONE.safeParse(iso).success)
    return {
      ok: false,
      why: `not an ISO date-time every host reads alike: ${quoted} has no time zone, so each host would take its own (add "Z" for UTC or an offset such as "+02:00")`,
      zoneOnly: true,
    };
  if (ISO_SHAPE.test(iso))
    return { ok: false, why: `not an ISO date-time: ${quoted} is no date of the calendar`, zoneOnly: false };
  return { ok: false, why: `not an ISO date-time: ${quoted}`, zoneOnly: false };
}
