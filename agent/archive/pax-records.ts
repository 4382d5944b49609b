/**
 * The records of a pax extended header's text: "LEN key=value\n" records, LEN counting bytes. A
 * later record of a key wins, as in node-tar's reading. Reading stops at the first record that is
 * not one (node-tar then reads what it can).
 */

const SPACE = 0x20;
const EQUALS = 0x3d;

export function paxRecords(text: string): Map<string, string> {
  const bytes = Buffer.from(text, "utf8");
  const records = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(SPACE, at);
    if (space < 0) break;
    const length = Number(bytes.toString("latin1", at, space));
    if (!Number.isInteger(length) || length <= space - at) break;
    const record = bytes.subarray(space + 1, at + length);
    const equals = record.indexOf(EQUALS);
    if (equals >= 0)
      records.set(record.toString("utf8", 0, equals), record.toString("utf8", equals + 1).replace(/\n$/, ""));
    at += length;
  }
  return records;
}
