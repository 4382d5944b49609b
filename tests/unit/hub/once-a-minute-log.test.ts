/**
 * A line said once a minute: the first failure of a window is logged at once with its agent, the rest of
 * the window are counted, and the count is written when the window ends even if no failure opens
 * the next one (an outage that ended must still be counted). Real timers, a short window.
 */
import { describe, expect, it, vi } from "vitest";
import { OnceAMinuteLog } from "../../../hub/once-a-minute-log.js";
import { memoryLogger } from "../../../shared/log.js";

describe("OnceAMinuteLog", () => {
  it("logs the first failure of a window, then one line counting the rest when it ends", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const outage = new OnceAMinuteLog(memoryLogger(lines), "could not renew an agent token", Date.now, {
      windowMs: 300,
    });
    for (let i = 0; i < 50; i++) outage.record(`a-${i % 5}`, "Error: connect ECONNREFUSED");
    expect(lines).toEqual([
      {
        level: "error",
        msg: "could not renew an agent token",
        data: { agentId: "a-0", error: "Error: connect ECONNREFUSED" },
      },
    ]);
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(2);
    expect(lines[1]).toEqual({
      level: "error",
      msg: "could not renew an agent token: more in the same minute, not logged one by one",
      data: { more: 49, agentIds: 5, lastError: "Error: connect ECONNREFUSED" },
    });
    // The next window starts with a line of its own.
    outage.record("a-1", "Error: still down");
    expect(lines).toHaveLength(3);
    expect(lines[2]?.data).toEqual({ agentId: "a-1", error: "Error: still down" });
    outage.close();
  });
});

describe("OnceAMinuteLog's distinct subjects", () => {
  it("tells apart the first 1,000 of a window and counts the lines past them as left out", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const outage = new OnceAMinuteLog(memoryLogger(lines), "request failed", Date.now, {
      subject: "request",
      windowMs: 300,
    });
    // A client with a valid token chooses the path, and so the subject: a new one each time.
    outage.record("GET /api/v1/first", "Error: connect ECONNREFUSED");
    for (let i = 0; i < 1500; i++) outage.record(`GET /api/v1/releases/${i}`, "Error: connect ECONNREFUSED");
    // A subject already told apart is not left out again.
    for (let i = 0; i < 10; i++) outage.record("GET /api/v1/releases/0", "Error: connect ECONNREFUSED");
    // Long ones count like short ones.
    for (let i = 0; i < 3; i++) outage.record(`GET /${"x".repeat(10_000)}`, "Error: connect ECONNREFUSED");
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(2);
    expect(lines[1]?.data).toEqual({
      more: 1513,
      requests: 1000,
      requestsLeftOut: 503,
      lastError: "Error: connect ECONNREFUSED",
    });
    // The next window starts again from none.
    outage.record("GET /a", "e");
    outage.record("GET /b", "e");
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(4);
    expect(lines[3]?.data).toEqual({ more: 1, requests: 1, lastError: "e" });
    outage.close();
  });
});

describe("OnceAMinuteLog's clock", () => {
  it("opens its next minute after a minute, though the wall clock was set back meanwhile", () => {
    // Counted on the wall clock, a minute with an hour's step back in it lasted 61: every line after
    // the first (a tick failing, a store unreachable) went unsaid for the hour.
    const lines: { level: string; msg: string }[] = [];
    const failed = new OnceAMinuteLog(memoryLogger(lines), "rollout tick failed");
    const wall = Date.now.bind(Date);
    const elapsed = performance.now.bind(performance);
    try {
      failed.record(undefined, "database is locked");
      vi.spyOn(performance, "now").mockImplementation(() => elapsed() + 61_000);
      vi.spyOn(Date, "now").mockImplementation(() => wall() + 61_000 - 3_600_000);
      failed.record(undefined, "database is locked");
    } finally {
      vi.restoreAllMocks();
    }
    expect(lines.map((l) => l.msg)).toEqual(["rollout tick failed", "rollout tick failed"]);
  });
});
