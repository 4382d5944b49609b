/**
 * The count of refused agent connections left out of the log (past the lines allowed a minute) is
 * written when the minute ends, not only when a later refusal happens to open the next one: a flood
 * that stops would otherwise never be counted in the log. A real logger collecting lines and real
 * timers, with the minute shortened.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionRefusals, REFUSAL_LINES_PER_MINUTE } from "../../../../hub/ws/refusals.js";
import { memoryLogger } from "../../../../shared/log.js";

describe("refused agent connections left out of the log", () => {
  let refusals: ConnectionRefusals | undefined;
  afterEach(() => refusals?.close());

  it("are counted in one line when the minute ends, though no refusal follows", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    refusals = new ConnectionRefusals(memoryLogger(lines), Date.now, () => performance.now(), 200);
    const flood = REFUSAL_LINES_PER_MINUTE + 7;
    for (let i = 0; i < flood; i++) refusals.record(`forged-${i}`, "invalid signature", "127.0.0.1", false);
    expect(lines.filter((l) => l.msg === "refused an agent connection")).toHaveLength(
      REFUSAL_LINES_PER_MINUTE,
    );
    const summary = () => lines.filter((l) => /not logged/.test(l.msg));
    expect(summary()).toEqual([]);
    await expect.poll(summary, { timeout: 10_000 }).toHaveLength(1);
    expect(summary()[0]?.data).toMatchObject({ notLogged: 7, linesPerMinute: REFUSAL_LINES_PER_MINUTE });
    // Said once: the next minute has nothing left out, and a refusal in it is logged again.
    await new Promise((r) => setTimeout(r, 400));
    expect(summary()).toHaveLength(1);
    refusals.record("later", "invalid signature", "127.0.0.1", false);
    expect(lines.at(-1)?.data).toMatchObject({ agentId: "later" });
    expect(summary()).toHaveLength(1);
  });

  it("a minute with nothing left out writes no count", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    refusals = new ConnectionRefusals(memoryLogger(lines), Date.now, () => performance.now(), 100);
    refusals.record("a1", "token expired", undefined, true);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.map((l) => l.msg)).toEqual(["refused an agent connection"]);
  });
});
