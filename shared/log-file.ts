/**
 * `[general.logging] file` as the logger writes it: each line appended before the call returns
 * (no line lost when a run exits), and a failed write dropped, not fatal. pino's file stream
 * (sonic-boom) kept a failed write's bytes to write again ahead of every later line, so the logger
 * was silenced at the first failure instead — and stayed silent until a restart: `ship agent`, running
 * for weeks, logged nothing more after one moment of a full /var/log, SIGHUP (logrotate) included.
 * Here every line is tried: the log resumes by itself once the disk has room again, and an outage is
 * said once on stderr when it starts and once when it ends.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fsErrorText } from "./fs-errors.js";
import { makeDirsSync } from "./make-dirs.js";

export interface LogFileNotes {
  /** Why the file cannot be written (an outage begins). */
  failed(reason: string): void;
  /** It is written again after `dropped` lines were not. */
  resumed(dropped: number): void;
}

export class LogFile {
  private fd: number | undefined;
  /** Lines dropped in the current outage; undefined while the file is written. */
  private dropped: number | undefined;
  /** The last write stopped mid-line: the next line starts on a line of its own. */
  private cut = false;

  constructor(
    readonly path: string,
    private readonly notes: LogFileNotes,
  ) {
    // At start a file that cannot be opened is the caller's error to report (a key to fix).
    this.fd = openLog(path);
  }

  /** pino's destination interface: one call per line. */
  write(line: string): void {
    if (this.fd === undefined && !this.open()) {
      this.drop();
      return;
    }
    const bytes = Buffer.from(this.cut ? `\n${line}` : line);
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(this.fd as number, bytes, done);
    } catch (error) {
      // Part of the line is in the file: the next line starts with a newline of its own.
      if (done > 0) this.cut = true;
      this.fail(error);
      this.drop();
      return;
    }
    this.cut = false;
    if (this.dropped !== undefined) {
      const dropped = this.dropped;
      this.dropped = undefined;
      this.notes.resumed(dropped);
    }
  }

  /** The file by its name again (logrotate moved it away). */
  reopen(): void {
    this.close();
    this.cut = false;
    this.open();
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // A descriptor whose last writes failed may fail to close the same way: it is gone either way.
    }
    this.fd = undefined;
  }

  private open(): boolean {
    try {
      this.fd = openLog(this.path);
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** Said once an outage: the first failure. */
  private fail(error: unknown): void {
    if (this.dropped !== undefined) return;
    this.dropped = 0;
    this.notes.failed(fsErrorText(error));
  }

  private drop(): void {
    this.dropped = (this.dropped ?? 0) + 1;
  }
}

/**
 * Created 640, as the state file is and as the README's `install -m 640` makes it: the log holds
 * what hooks and migrations print (a connection string, a token), and a log ship created (first run,
 * or after logrotate moved it) was 644, readable by every local user. A file already there keeps its mode.
 */
function openLog(path: string): number {
  makeDirsSync(dirname(path));
  return openSync(path, "a", 0o640);
}
