/**
 * An entry's mtime as a pax extended header states it, to the nanosecond. GNU tar's
 * `--format=pax` (and bsdtar's) write `mtime=1733450000.123456789`; node-tar reads that record into
 * a Date, to the millisecond, and keeps no other copy. Its parser does hand each extended header's
 * text over (its "meta" event) just before the entry the header belongs to, so the exact time is
 * read from that text here.
 */
import { paxRecords } from "./pax-records.js";

export interface PaxMtime {
  mtimeNs: bigint;
  /** The Date node-tar made of the same record, in ms: a check that the entry took this header's time. */
  ms: number;
}

const NS_PER_S = 1_000_000_000n;
const TIME = /^(-?)(\d+)(?:\.(\d*))?$/;

/**
 * The `mtime` record of a pax header's text, or undefined when it has none or its value is no
 * decimal time (node-tar then reads what it can).
 */
export function paxMtimeOf(text: string): PaxMtime | undefined {
  const found = paxRecords(text).get("mtime");
  if (found === undefined) return undefined;
  const parts = TIME.exec(found);
  if (parts === null) return undefined;
  const [, sign, whole, fraction = ""] = parts;
  const ns = BigInt(whole ?? "0") * NS_PER_S + BigInt(fraction.slice(0, 9).padEnd(9, "0"));
  // node-tar's own reading of the record, so the entry's Date can be matched against it.
  return { mtimeNs: sign === "-" ? -ns : ns, ms: new Date(Number(found) * 1000).getTime() };
}

/** The exact mtime of `entryMtime`'s entry when the header read before it states that time. */
export function exactEntryMtime(
  header: PaxMtime | undefined,
  entryMtime: Date | undefined,
): bigint | undefined {
  if (header === undefined || entryMtime === undefined) return undefined;
  return header.ms === entryMtime.getTime() ? header.mtimeNs : undefined;
}
