import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode, fsErrorText, LocalWriteError } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { type Report, Report as ReportSchema } from "../../shared/protocol/messages.js";
import { readRecordText } from "../state/record-file.js";

/**
 * Reports waiting for the hub's acknowledgement. Each is a file written (and fsynced) before it is
 * sent and removed only on `ack`, so a hub restart, a network cut or an agent crash loses no report;
 * the hub stores each reportId once, so sending one twice is harmless.
 */
export class ReportOutbox {
  /**
   * Reports that could not be written (a full disk), kept until acked so they are still resent on
   * reconnect; only a restart of the agent loses them.
   */
  private readonly unwritten = new Map<string, Report>();

  constructor(
    private readonly dir: string,
    /** Told of a file that is set aside or cannot be read: a report the hub may never get. */
    private readonly log?: Pick<Logger, "warn">,
  ) {}

  /** Throws when the report could not be written; it is then kept in memory instead. */
  async put(report: Report): Promise<void> {
    // Names sort by time so reports are resent in the order they happened.
    const name = `${Date.now().toString().padStart(15, "0")}-${report.reportId}.json`;
    const tmp = join(this.dir, `.${randomUUID()}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true });
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
      this.unwritten.set(report.reportId, report);
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
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json")).sort();
    } catch {
      return [...this.unwritten.values()];
    }
    const reports: Report[] = [];
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
        reports.push(parsed.data);
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
    return [...reports, ...this.unwritten.values()];
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
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
