import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reconnectDelay } from "../../../agent/daemon/backoff.js";
import { ReportOutbox } from "../../../agent/daemon/outbox.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Report } from "../../../shared/protocol/messages.js";

function report(app: string): Report {
  return {
    type: "report",
    v: 1,
    reportId: randomUUID(),
    app,
    outcome: "succeeded",
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    steps: [],
  };
}

describe("ReportOutbox", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-outbox-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps reports across instances (a restarted agent) until each is acknowledged", async () => {
    const first = report("a");
    const second = report("b");
    const writer = new ReportOutbox(join(dir, "outbox"));
    await writer.put(first);
    await writer.put(second);

    const reader = new ReportOutbox(join(dir, "outbox"));
    expect((await reader.pending()).map((r) => r.reportId)).toEqual([first.reportId, second.reportId]);

    expect(await reader.ack(first.reportId)).toBe(true);
    expect(await reader.ack(first.reportId)).toBe(false);
    expect((await reader.pending()).map((r) => r.app)).toEqual(["b"]);
  });

  it("sets a corrupt entry aside instead of resending it forever, and says so", async () => {
    const lines: Parameters<typeof memoryLogger>[0] = [];
    const box = new ReportOutbox(dir, memoryLogger(lines));
    await box.put(report("a"));
    await writeFile(join(dir, "000000000000000-broken.json"), "{not json");
    const pending = await box.pending();
    expect(pending.map((r) => r.app)).toEqual(["a"]);
    expect((await readdir(dir)).filter((n) => n.endsWith(".corrupt"))).toHaveLength(1);
    // A report the hub will not get from the outbox: a WARNING names the file it was moved to.
    expect(lines).toEqual([
      {
        level: "warn",
        msg: "a report in the outbox is damaged and was set aside, not sent",
        data: { file: join(dir, "000000000000000-broken.json.corrupt") },
      },
    ]);
  });

  it("leaves an entry it cannot read in place (not corrupt), and says so", async () => {
    const lines: Parameters<typeof memoryLogger>[0] = [];
    const box = new ReportOutbox(dir, memoryLogger(lines));
    await box.put(report("a"));
    // A read that fails (here a directory, now named as damage; a root-owned mode-600 file gives EACCES) says nothing of the
    // report: it used to be renamed .corrupt as if damaged.
    await mkdir(join(dir, "000000000000000-unreadable.json"));
    expect((await box.pending()).map((r) => r.app)).toEqual(["a"]);
    expect((await readdir(dir)).filter((n) => n.endsWith(".corrupt"))).toEqual([]);
    expect(lines).toEqual([
      {
        level: "warn",
        msg: "a report in the outbox cannot be read; left in place, not sent",
        data: {
          file: join(dir, "000000000000000-unreadable.json"),
          error: expect.stringContaining("is damaged, it is not a file"),
        },
      },
    ]);
  });

  it("sends a report an older agent named by its time before the ones it makes after it", async () => {
    // Agents before round 50 named files by Date.now(); their reports are older than any made now.
    const left = report("left");
    await writeFile(
      join(dir, `${Date.now().toString().padStart(15, "0")}-${left.reportId}.json`),
      JSON.stringify(left),
    );
    const box = new ReportOutbox(dir);
    await Promise.all([box.put(report("a")), box.put(report("b"))]);
    const pending = await box.pending();
    expect(pending.map((r) => r.app).slice(0, 1)).toEqual(["left"]);
    expect(pending.map((r) => r.app).sort()).toEqual(["a", "b", "left"]);
    // Two puts at once never share a name's number.
    expect(new Set((await readdir(dir)).map((n) => n.split("-")[0])).size).toBe(3);
  });

  it("returns nothing for an outbox that was never written", async () => {
    expect(await new ReportOutbox(join(dir, "missing")).pending()).toEqual([]);
  });
});

describe("reconnectDelay", () => {
  it("grows exponentially, stays within [ceiling/2, ceiling] and never exceeds the cap", () => {
    expect(reconnectDelay(0, 500, 60_000, () => 0)).toBe(250);
    expect(reconnectDelay(0, 500, 60_000, () => 1)).toBe(500);
    expect(reconnectDelay(3, 500, 60_000, () => 1)).toBe(4000);
    expect(reconnectDelay(50, 500, 60_000, () => 1)).toBe(60_000);
    expect(reconnectDelay(50, 500, 60_000, () => 0)).toBe(30_000);
  });
});
