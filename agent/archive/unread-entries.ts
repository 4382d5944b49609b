/**
 * Entries whose bytes would not land as the file they stand for. node-tar's parser reads past
 * what it has no use for without a word ("ignoredEntry"): a GNU sparse file (`tar --sparse`, type
 * S), a multi-volume continuation, an unknown type, an extended header over its 1 MiB — whose long
 * name the next entry then lost. A pax-format sparse file (`GNU.sparse.*` records) it does hand
 * over, but as its packed data blocks, under a made-up name (`GNUSparseFile.123/data.img`). The
 * first went missing from the app, the second was installed as another file with other bytes; both
 * are refused like every entry ship cannot place.
 */
import type { ReadEntry } from "tar";
import { VerificationError } from "../../shared/errors.js";
import { shownName } from "./entry-path.js";
import { paxRecords } from "./pax-records.js";

const SPARSE =
  "is a sparse file (packed by tar --sparse / -S), whose holes ship cannot place: repack the release without --sparse";

/** A pax header's GNU sparse records: the file's own name when they state it. */
export interface SparseHeader {
  name: string | undefined;
}

/** The sparse records of a pax header's text, or undefined when it has none. */
export function sparseHeaderOf(text: string): SparseHeader | undefined {
  const records = paxRecords(text);
  if (![...records.keys()].some((key) => key.startsWith("GNU.sparse."))) return undefined;
  return { name: records.get("GNU.sparse.name") };
}

/** Refuses the file `entry` a sparse pax header came before, named as the header names it. */
export function sparseEntryError(label: string, entry: ReadEntry, header: SparseHeader): VerificationError {
  return entryError(label, header.name ?? entry.path, SPARSE);
}

/** Refuses an entry the parser read past (a tape volume's label, which holds no file, is let be). */
export function ignoredEntryError(label: string, entry: ReadEntry): VerificationError | undefined {
  if (entry.type === "TapeVolumeHeader") return undefined;
  if (entry.type === "SparseFile") return entryError(label, entry.path, SPARSE);
  if (entry.meta)
    return entryError(
      label,
      entry.path,
      `is an extended header of ${entry.size} bytes, more than ship reads (1 MiB)`,
    );
  // node-tar names every type letter it does not know "Unsupported" and keeps no other trace of it.
  const type = entry.type === "Unsupported" ? "an entry type tar does not define" : `the type ${entry.type}`;
  return entryError(label, entry.path, `has ${type}, which ship cannot install`);
}

function entryError(label: string, name: string, reason: string): VerificationError {
  return new VerificationError(`${label}: entry ${JSON.stringify(shownName(name))}`, reason);
}
