/**
 * The sha256 of the part of a saved install index (a backup's index.json, and index-base.json, the
 * base a saved head names) that no check of its own covers: the bytes before its first newline.
 * That is the whole file for the JSON layouts (a head, and the full index an older ship wrote:
 * JSON.stringify never writes a newline) and the header line of the columns layout (a base's too:
 * its `extras` name merged files' sha256s), whose blocks after it are under their CRC-32
 * (docs/install-index.md). A byte changed there that still parsed (a digit of a sha256, a version,
 * a directory's mode) was restored as the truth: `--rollback` said "back on 2.0.0", exit 0, and the
 * live index then named a sha256 no file had. Recorded in meta.json as the backup is made; the
 * rollback (and the listing, for a saved index modified since) compares it before anything moves.
 * Backups made before it was recorded have none and are judged as before.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, readSync } from "node:fs";
import { join } from "node:path";
import { damagedRecord } from "../state/record-file.js";
import { openRegularFileSync, syncReadBuffer } from "../tree/hash-file.js";
import { PREVIOUS_INDEX_FILE, SAVED_INDEX_BASE_FILE } from "./record-names.js";

/** sha256 (hex) of the file's bytes before its first newline, all of them when it has none. */
export function firstLineSha256(path: string): string {
  const fd = openRegularFileSync(path);
  try {
    const buffer = syncReadBuffer();
    const hash = createHash("sha256");
    for (;;) {
      // 64 KiB at a time: a columns index's header line is short, its blocks run to megabytes.
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, 1 << 16), null);
      if (n === 0) break;
      const end = buffer.subarray(0, n).indexOf(0x0a);
      hash.update(buffer.subarray(0, end < 0 ? n : end));
      if (end >= 0) break;
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}

/** The sums a backup at `backupPath` records of its saved index, and of the base it names. */
export function savedIndexLineSums(backupPath: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const name of [PREVIOUS_INDEX_FILE, SAVED_INDEX_BASE_FILE]) {
    const path = join(backupPath, name);
    if (existsSync(path)) sums[name] = firstLineSha256(path);
  }
  return sums;
}

/** Throws (exit 2, naming the file) when a saved index's first line is not what the update saved. */
export function checkSavedIndexSums(
  backupPath: string,
  recorded: Record<string, string> | undefined,
  what: string,
): void {
  for (const [name, sha256] of Object.entries(recorded ?? {})) {
    const path = join(backupPath, name);
    if (firstLineSha256(path) === sha256) continue;
    throw damagedRecord(
      path,
      what,
      "its content is not what the update saved (its JSON, or its columns' header line, has another sha256 than the one meta.json recorded; edited by hand since)",
    );
  }
}
