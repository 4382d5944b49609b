/**
 * A pax extended header's mtime read to the nanosecond from the header's text (node-tar reads it
 * into a Date, to the millisecond): records counted in bytes (a path of several-byte characters
 * before it), negative times, fractions shorter and longer than nine digits, and a header whose
 * time is not the entry's (then the entry keeps node-tar's).
 */
import { describe, expect, it } from "vitest";
import { exactEntryMtime, paxMtimeOf } from "../../../agent/archive/pax-mtime.js";

/** One pax record as tar writes it: its length, in bytes, counts itself. */
function record(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

describe("paxMtimeOf", () => {
  it("reads nanoseconds after a path of multi-byte characters", () => {
    const text = record("path", "dossier/été/ファイル.txt") + record("mtime", "1614834368.123456789");
    expect(paxMtimeOf(text)?.mtimeNs).toBe(1_614_834_368_123_456_789n);
  });

  it("pads a short fraction, cuts one past nine digits, and reads whole seconds", () => {
    expect(paxMtimeOf(record("mtime", "1614834368.5"))?.mtimeNs).toBe(1_614_834_368_500_000_000n);
    expect(paxMtimeOf(record("mtime", "1614834368.1234567891"))?.mtimeNs).toBe(1_614_834_368_123_456_789n);
    expect(paxMtimeOf(record("mtime", "1614834368"))?.mtimeNs).toBe(1_614_834_368_000_000_000n);
  });

  it("reads a time before 1970", () => {
    expect(paxMtimeOf(record("mtime", "-1.25"))?.mtimeNs).toBe(-1_250_000_000n);
  });

  it("has nothing without an mtime record, or with one that is no time", () => {
    expect(paxMtimeOf(record("path", "a.txt") + record("atime", "5.5"))).toBeUndefined();
    expect(paxMtimeOf(record("mtime", "soon"))).toBeUndefined();
    // A GNU long name's text is a path, no records.
    expect(paxMtimeOf("some/long/name.txt")).toBeUndefined();
  });
});

describe("exactEntryMtime", () => {
  it("gives the header's nanoseconds only to an entry whose time node-tar read from it", () => {
    const header = paxMtimeOf(record("mtime", "1614834368.123456789"));
    expect(exactEntryMtime(header, new Date(1_614_834_368_123))).toBe(1_614_834_368_123_456_789n);
    expect(exactEntryMtime(header, new Date(1_614_834_369_000))).toBeUndefined();
    expect(exactEntryMtime(undefined, new Date(1_614_834_368_123))).toBeUndefined();
  });
});
