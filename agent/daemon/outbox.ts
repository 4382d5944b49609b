import { randomUUID } from "node:crypto";
import { open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode, fsErrorText, LocalWriteError } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { type Report, Report as ReportSchema } from "../../shared/protocol/messages.js";
import { readRecordText } from "../state/record-file.js";

/**
 * Reports waiting for the hub's acknowledgement. Each is a file written (and fsynced) before it is
 * sent and removed only on `ack`, so a hub restart, a network cut or an agent crash loses no report;
 * the hub stores each reportId once, so sending one twice is harmless.
 *
 * Files are named by a sequence number, not the time: the hub applies reports in order (the last for
 * an app names what it runs), and names by wall time put a report made after the clock was set back
 * before the ones made earlier, so the fleet showed the host on the version it had left.
 */
export class ReportOutbox {
  /**
   * Reports that could not be written (a full disk), kept until acked so they are still resent on
   * reconnect; only a restart of the agent loses them.
   */
  private readonly unwritten = new Map<string, { seq: number; report: Report }>();
  /** The last sequence number given: the highest in the directory when first needed, then counted up. */
  private last: Promise<number> | undefined;

  constructor(
    private readonly dir: string,
    /** Told of a file that is set aside or cannot be read: a report the hub may never get. */
    private readonly log?: Pick<Logger, "warn">,
  ) {}

  /** Throws when the report could not be written; it is then kept in memory instead. */
  async put(report: Report): Promise<void> {
    const seq = await this.nextSeq();
    const name = `${seqText(seq)}-${report.reportId}.json`;
    const tmp = join(this.dir, `.${randomUUID()}.tmp`);
    try {
      await makeDirs(this.dir);
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(JSON.stringify(report));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(this.dir, name));
      this.unwritten.delete(report.reportId);
    } catch (error) {
      this.unwritten.set(report.reportId, { seq, report });
      await rm(tmp, { force: true });
      throw errnoCode(error) === undefined
        ? error
        : new LocalWriteError(`the report outbox ${this.dir}`, error);
    }
  }

  /** Every pending report, oldest first. A corrupt file is set aside, never resent forever. */
  async pending(): Promise<Report[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json"));
    } catch {
      names = [];
    }
    const reports: { seq: number; report: Report }[] = [...this.unwritten.values()];
    for (const name of names) {
      const path = join(this.dir, name);
      let text: string;
      try {
        text = await readRecordText(path);
      } catch (error) {
        // Unreadable is not corrupt (a file a run as root left mode 600): left for a later try.
        this.log?.warn("a report in the outbox cannot be read; left in place, not sent", {
          file: path,
          error: fsErrorText(error),
        });
        continue;
      }
      const parsed = ReportSchema.safeParse(parseJson(text));
      if (parsed.success) {
        reports.push({ seq: seqOf(name), report: parsed.data });
        continue;
      }
      // Set aside without a word, a report the hub never got went unnoticed.
      const aside = `${path}.corrupt`;
      const moved = await rename(path, aside).then(
        () => true,
        () => false,
      );
      this.log?.warn("a report in the outbox is damaged and was set aside, not sent", {
        file: moved ? aside : path,
      });
    }
    return reports.sort((a, b) => a.seq - b.seq).map((r) => r.report);
  }

  async ack(reportId: string): Promise<boolean> {
    if (this.unwritten.delete(reportId)) return true;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return false;
    }
    const match = names.find((n) => n.endsWith(`-${reportId}.json`));
    if (match === undefined) return false;
    await rm(join(this.dir, match), { force: true });
    return true;
  }

  /**
   * One more than any number in the directory (files an agent before this one named by their time
   * included, so those still go first), then counted in memory: `put`s at once get distinct numbers.
   */
  private nextSeq(): Promise<number> {
    const last =
      this.last ??
      readdir(this.dir).then(
        (names) => names.reduce((most, name) => Math.max(most, seqOf(name)), 0),
        () => 0,
      );
    // Chained before any await, so two puts at once never read the same number.
    this.last = last.then((n) => n + 1);
    return this.last;
  }
}

const SEQ_DIGITS = 15;

function seqText(seq: number): string {
  return seq.toString().padStart(SEQ_DIGITS, "0");
}

/** The number a file's name starts with; 0 for a name that has none (a temp file, a stray). */
function seqOf(name: string): number {
  const digits = /^(\d+)-/.exec(name)?.[1];
  return digits === undefined ? 0 : Number(digits);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
