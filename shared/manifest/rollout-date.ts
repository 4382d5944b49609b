/**
 * The dates a standalone staged rollout starts from (`rollout.start`, `release_date`), read the
 * same on every host. `Date.parse` was used before and took far more than ISO 8601: "1" as
 * 2001-01-01, "2026-02-30" as 2 March, "Dec 5 2026" — a typo opened every stage at once — and a
 * date-time without an offset in each host's own time zone, so hosts in two zones disagreed on
 * when a stage opens, where the README promises that every host decides alone and all agree.
 */

/** A date (midnight UTC) or a date-time with its offset; seconds and fractions optional. */
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/;

/** Why a text is no rollout date: no ISO form, a day the calendar lacks, or no time zone. */
export type RolloutDate = { ok: true; ms: number } | { ok: false; why: string; zoneOnly: boolean };

/**
 * Reads `text` as ISO 8601, or says why it is not one every host reads alike (`why` begins "not an
 * ISO date-time" and names the text; callers add the key and an example).
 */
export function parseRolloutDate(text: string): RolloutDate {
  const match = ISO_DATE.exec(text);
  if (match === null)
    return { ok: false, why: `not an ISO date-time: ${JSON.stringify(text)}`, zoneOnly: false };
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  if (hour !== undefined && offset === undefined) {
    return {
      ok: false,
      why: `not an ISO date-time every host reads alike: ${JSON.stringify(text)} has no time zone, so each host would take its own (add "Z" for UTC or an offset such as "+02:00")`,
      zoneOnly: true,
    };
  }
  const fields = [year, month, day, hour ?? "00", minute ?? "00", second ?? "00"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  // Date.UTC reads years 0-99 as 1900-1999: the year is set on its own.
  const back = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  back.setUTCFullYear(y, mo - 1, d);
  const utc = back.getTime();
  // Date.UTC rolls 30 February over into March and hour 24 into the next day: such a date is no date.
  const real =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  if (!real || !offsetInRange(offset)) {
    return {
      ok: false,
      why: `not an ISO date-time: ${JSON.stringify(text)} is no date of the calendar`,
      zoneOnly: false,
    };
  }
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  return { ok: true, ms: utc + millis - offsetMinutes(offset) * 60_000 };
}

function offsetInRange(offset: string | undefined): boolean {
  if (offset === undefined || offset.length === 1) return true;
  const [hours, minutes] = offset.slice(1).split(":").map(Number) as [number, number];
  return hours <= 23 && minutes <= 59;
}

function offsetMinutes(offset: string | undefined): number {
  if (offset === undefined || offset === "Z" || offset === "z") return 0;
  const sign = offset.startsWith("-") ? -1 : 1;
  const [hours, minutes] = offset.slice(1).split(":").map(Number) as [number, number];
  return sign * (hours * 60 + minutes);
}
