import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { UnackedReports } from "../../../agent/daemon/unacked-reports.js";

describe("UnackedReports: a sent report is sent again until acked", () => {
  let unacked: UnackedReports | undefined;
  afterEach(() => unacked?.stop());

  it("comes due after a wait that grows per try, and never once acked", async () => {
    const due: { id: string; at: number }[] = [];
    const start = Date.now();
    unacked = new UnackedReports(40, 400, (id) => {
      due.push({ id, at: Date.now() - start });
      // The daemon sends it again, which is a new try.
      if (id === "r1" && due.filter((d) => d.id === "r1").length < 3) unacked?.sent(id);
    });
    unacked.sent("r1");
    unacked.sent("r2");
    unacked.done("r2");
    await sleep(600);
    const r1 = due.filter((d) => d.id === "r1").map((d) => d.at);
    expect(
      due.some((d) => d.id === "r2"),
      "an acked report is not sent again",
    ).toBe(false);
    expect(r1).toHaveLength(3);
    // Jittered between half and all of 40, 80, 160 ms: each wait longer than the first.
    const waits = r1.map((at, i) => at - (r1[i - 1] ?? 0));
    expect(waits[0]).toBeGreaterThanOrEqual(19);
    expect(waits[2]).toBeGreaterThanOrEqual(79);
  });

  it("comes due no more after stop", async () => {
    const due: string[] = [];
    unacked = new UnackedReports(20, 20, (id) => due.push(id));
    unacked.sent("r1");
    unacked.stop();
    unacked.sent("r2");
    await sleep(80);
    expect(due).toEqual([]);
  });
});
