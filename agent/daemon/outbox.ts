import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Report, Report as ReportSchema } from "../../shared/protocol/messages.js";

/**
 * Reports waiting for the hub's acknowledgement. Each is a file written (and fsynced) before it is
 * sent and removed only on `ack`, so a hub restart, a network cut or an agent crash loses no report;
 * the hub stores each reportId once, so sending one twice is harmless.
 */
export class ReportOutbox {
  constructor(private readonly dir: string) {}

  async put(report: Report): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // Names sort by time so reports are resent in the order they happened.
    const name = `${Date.now().toString().padStart(15, "0")}-${report.reportId}.json`;
    const tmp = join(this.dir, `.${randomUUID()}.tmp`);
    const handle = await open(tmp, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(report));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, name));
  }

  /** Every pending report, oldest first. A corrupt file is set aside, never resent forever. */
  async pending(): Promise<Report[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json")).sort();
    } catch {
      return [];
    }
    const reports: Report[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const parsed = ReportSchema.safeParse(parseJson(await readFile(path, "utf8").catch(() => "")));
      if (parsed.success) reports.push(parsed.data);
      else await rename(path, `${path}.corrupt`).catch(() => undefined);
    }
    return reports;
  }

  async ack(reportId: string): Promise<boolean> {
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
