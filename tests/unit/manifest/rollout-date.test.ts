import { describe, expect, it } from "vitest";
import { parseRolloutDate } from "../../../shared/manifest/rollout-date.js";

const at = (text: string) => {
  const date = parseRolloutDate(text);
  return date.ok ? new Date(date.ms).toISOString() : date.why;
};

describe("parseRolloutDate", () => {
  it.each([
    ["2028-02-29", "2028-02-29T00:00:00.000Z"],
    ["2026-12-05T23:59:59.999Z", "2026-12-05T23:59:59.999Z"],
    ["2026-12-05T10:00+05:30", "2026-12-05T04:30:00.000Z"],
    ["2026-12-05T10:00:00-00:00", "2026-12-05T10:00:00.000Z"],
    ["2026-12-05t10:00z", "2026-12-05T10:00:00.000Z"],
    ["2026-12-05 10:00:00+01:00", "2026-12-05T09:00:00.000Z"],
    // Date.UTC alone reads years below 100 as 19xx.
    ["0050-01-01", "0050-01-01T00:00:00.000Z"],
  ])("%s is %s", (text, iso) => {
    expect(at(text)).toBe(iso);
  });

  it.each([
    ["2026-02-29", /is no date of the calendar/],
    ["2026-13-01", /is no date of the calendar/],
    ["2026-12-05T10:00:60Z", /is no date of the calendar/],
    ["2026-12-05T10:00+24:00", /is no date of the calendar/],
    ["2026-12-05T10:00", /has no time zone/],
    ["20261205", /^not an ISO date-time: "20261205"$/],
    ["2026-12-05  10:00Z", /^not an ISO date-time: "2026-12-05 {2}10:00Z"$/],
    ["2026-02-30T10:00", /is no date of the calendar/],
  ])("%s is refused", (text, why) => {
    expect(at(text)).toMatch(why);
  });
});
