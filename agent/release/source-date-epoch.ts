/**
 * SOURCE_DATE_EPOCH, read once for every place `ship release` stamps a time (the manifest's
 * release_date, each archive entry's mtime). The reproducible-builds spec
 * (reproducible-builds.org/specs/source-date-epoch) makes it whole decimal seconds since
 * 1970-01-01 UTC and asks a tool to fail on a malformed value: "abc" silently gave today's date (a
 * build no longer reproducible, unnoticed), "1e3" was read as 1000, a year past 9999 wrote
 * `release_date: "+010000-01"` (no date any agent reads) and a larger one was an internal error.
 */
import { BadInputError } from "../../shared/errors.js";

/** 9999-12-31T23:59:59Z: the last second a four-digit-year release_date can name. */
export const MAX_SOURCE_DATE_EPOCH = 253_402_300_799;

/** The seconds SOURCE_DATE_EPOCH names; undefined when it is unset or empty (as the shell's `VAR=`). */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return undefined;
  const refuse = (what: string) =>
    BadInputError.single(
      "SOURCE_DATE_EPOCH",
      "",
      `${JSON.stringify(raw)} ${what}; set it to whole seconds since 1970-01-01 UTC, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it for today's date; nothing was written`,
    );
  if (!/^[0-9]+$/.test(raw)) throw refuse("is not a whole number of seconds (decimal digits only)");
  const seconds = Number(raw);
  if (seconds > MAX_SOURCE_DATE_EPOCH)
    throw refuse(`is after 9999-12-31T23:59:59Z (${MAX_SOURCE_DATE_EPOCH}): no release_date can hold it`);
  return seconds;
}
