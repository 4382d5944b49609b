/** The hub keeps reports by count per agent and by age, so one agent token cannot fill its disk. */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { steppedClocks } from "../../support/stepped-clocks.js";
import { startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
let clock = Date.now();
beforeAll(async () => {
  t = await startTestHub({
    now: () => clock,
    reportRetention: { keepPerAgent: 3, keepMs: 3_600_000, everyMs: 50 },
  });
});
afterAll(async () => {
  await t.stop();
});

/** A succeeded report of app web, as an agent sends it. */
function reportMessage(reportId: string, toVersion: string, fromVersion: string) {
  return {
    type: "report",
    reportId,
    app: "web",
    outcome: "succeeded",
    fromVersion,
    toVersion,
    steps: [],
  } as const;
}

async function sendReports(agent: TestAgent, versions: string[]): Promise<void> {
  for (const toVersion of versions) {
    const reportId = randomUUID();
    agent.send(reportMessage(reportId, toVersion, "1.0.0"));
    await agent.next(
      (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );
    clock += 1000;
  }
}

const kept = async (agentId: string, on: TestHub = t) =>
  (await on.hub.store.listReports(agentId, 100)).map((r) => (r.payload as { toVersion: string }).toVersion);

describe("report retention", () => {
  it("keeps each agent's newest reports up to the count, and drops reports past the age", async () => {
    const noisy = await TestAgent.connect(t.hub.url, await t.agentToken("noisy"));
    noisy.hello("noisy");
    const quiet = await TestAgent.connect(t.hub.url, await t.agentToken("quiet"));
    quiet.hello("quiet");
    await sendReports(quiet, ["q1"]);
    await sendReports(noisy, ["1", "2", "3", "4", "5", "6"]);
    await expect.poll(() => kept("noisy"), { timeout: 10_000 }).toEqual(["6", "5", "4"]);
    expect(await kept("quiet")).toEqual(["q1"]);

    clock += 2 * 3_600_000;
    await expect
      .poll(async () => [...(await kept("noisy")), ...(await kept("quiet"))], { timeout: 10_000 })
      .toEqual([]);
    noisy.ws.close();
    quiet.ws.close();
  });

  it("keeps the reports that came last when the clock was set back between them", async () => {
    // The hub's stamps ran 30 minutes ahead (a clock put right, then the hub restarted): the
    // reports after it are stamped earlier than the ones before. Ranked by stamp, the newest were
    // pruned at once and the agent's history showed only what came before the correction.
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("stepped"));
    agent.hello("stepped");
    await sendReports(agent, ["1", "2", "3"]);
    clock -= 30 * 60_000;
    await sendReports(agent, ["4", "5"]);
    await expect.poll(() => kept("stepped"), { timeout: 10_000 }).toEqual(["5", "4", "3"]);
    agent.ws.close();
  });
});

describe("report rate", () => {
  it("takes at most max_reports_per_minute from one agent, over all its connections; the rest get an error and no ack", async () => {
    const hub = await startTestHub({ maxReportsPerMinute: 3 });
    try {
      const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken("flood"));
      agent.hello("flood");
      const ids = Array.from({ length: 5 }, () => randomUUID());
      for (const reportId of ids) agent.send(reportMessage(reportId, "2", "1"));
      await agent.next(
        (m): m is Extract<typeof m, { type: "error" }> =>
          m.type === "error" && /3 reports a minute/.test(m.message),
      );
      await expect
        .poll(() => agent.received.filter((m) => m.type === "ack").length, { timeout: 10_000 })
        .toBe(3);
      await new Promise((r) => setTimeout(r, 200));
      expect(agent.received.filter((m) => m.type === "ack").length).toBe(3);
      expect(await hub.hub.store.listReports("flood", 100)).toHaveLength(3);
      // A new connection within the minute brings no fresh allowance: the limit is the agent's.
      agent.ws.close();
      const again = await TestAgent.connect(hub.hub.url, await hub.agentToken("flood"));
      again.hello("flood");
      const more = randomUUID();
      again.send(reportMessage(more, "3", "1"));
      await again.next(
        (m): m is Extract<typeof m, { type: "error" }> =>
          m.type === "error" && /3 reports a minute/.test(m.message),
      );
      expect(await hub.hub.store.listReports("flood", 100)).toHaveLength(3);
      again.ws.close();
    } finally {
      await hub.stop();
    }
  });
});

describe("GET /agents/:id pages reports", () => {
  // By `reports_offset` alone, a report that arrived between two pages pushed the others back: the
  // next page began with the last one already read (paging on read it twice). `reports_before`,
  // the `next` of the page before, starts where that page ended, whatever arrived since.
  it("newest first, by cursor: a report arriving while an operator pages shows nothing twice; bad values are a 400", async () => {
    const p = await startTestHub();
    try {
      const agent = await TestAgent.connect(p.hub.url, await p.agentToken("paged"));
      agent.hello("paged");
      const send = async (toVersion: string) => {
        const reportId = randomUUID();
        agent.send(reportMessage(reportId, toVersion, "1"));
        await agent.next(
          (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
        );
      };
      for (const toVersion of ["a", "b", "c"]) await send(toVersion);
      type Shown = {
        reports: { id: string; payload: { toVersion: string } }[];
        reportsPage: { limit: number; more?: true; next?: string };
      };
      const get = (query: string) =>
        p.api<Shown>("GET", `/api/v1/agents/paged${query}`, { token: p.operator });
      const page = async (query: string) => (await get(query)).body.reports.map((r) => r.payload.toVersion);
      expect(await page("")).toEqual(["c", "b", "a"]);
      expect(await page("?reports_limit=2&reports_offset=2")).toEqual(["a"]);
      const first = (await get("?reports_limit=2")).body;
      expect(first.reports.map((r) => r.payload.toVersion)).toEqual(["c", "b"]);
      expect(first.reportsPage).toEqual({ limit: 2, offset: 0, more: true, next: first.reports[1]?.id });
      await send("d");
      const second = (
        await get(`?reports_limit=2&reports_before=${encodeURIComponent(first.reportsPage.next ?? "")}`)
      ).body;
      expect(second.reports.map((r) => r.payload.toVersion)).toEqual(["a"]);
      expect(second.reportsPage).toEqual({ limit: 2 });
      const refused = async (query: string) => {
        const answer = await p.api("GET", `/api/v1/agents/paged${query}`, { token: p.operator });
        expect(answer.status, query).toBe(400);
        return answer.body.error as string;
      };
      expect(await refused("?reports_limit=5000")).toMatch(/^query\.reports_limit/);
      // Another agent's report, or none: no empty page saying there is nothing older.
      expect(await refused(`?reports_before=other%2F${randomUUID()}`)).toMatch(
        /^query\.reports_before: agent paged has no report other\/[0-9a-f-]{36} \(/,
      );
      expect(
        await refused(`?reports_before=${encodeURIComponent(first.reportsPage.next ?? "")}&reports_offset=1`),
      ).toMatch(/^query\.reports_offset: not with reports_before/);
      agent.ws.close();
    } finally {
      await p.stop();
    }
  });
});

describe("report rate under a wall clock set back", () => {
  // The per-agent minute budgets counted their minute on the wall clock: set back an hour (NTP
  // stepping a clock that ran ahead), the minute under way lasted 61, and an agent that had used its
  // allowance had every report refused for the hour ("more than N reports a minute"), its
  // deployments timing out meanwhile. Only the clocks are moved: the wall clock back an hour and
  // the elapsed one forward a minute, as 61 s with a step in them read.
  it("ends an agent's minute of reports after a minute, not after the step", async () => {
    const shift = steppedClocks();
    const hub = await startTestHub({ maxReportsPerMinute: 3 });
    try {
      const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken("stepped"));
      agent.hello("stepped");
      type Answer = Extract<HubMessage, { type: "ack" | "error" }>;
      const report = (): Promise<Answer> => {
        const reportId = randomUUID();
        agent.send(reportMessage(reportId, "2", "1"));
        return agent.next(
          (m): m is Answer =>
            (m.type === "ack" && m.reportId === reportId) ||
            (m.type === "error" && /reports a minute/.test(m.message)),
        );
      };
      for (let i = 0; i < 3; i++) expect((await report()).type).toBe("ack");
      expect((await report()).type).toBe("error");
      shift.elapsed += 61_000;
      shift.wall += 61_000 - 3_600_000;
      expect((await report()).type).toBe("ack");
      agent.ws.terminate();
    } finally {
      await hub.stop();
      vi.restoreAllMocks();
    }
  });
});

describe("report retention with the hub's clock ahead", () => {
  // A hub started with its clock 100 days ahead (a VM whose clock NTP had not yet put right) read
  // every stored report as past report_keep_days and deleted the whole history at its first prune.
  it("keeps the history a restart with the clock months ahead finds, and still prunes by count", async () => {
    const retention = { keepPerAgent: 2, keepMs: 90 * 86_400_000, everyMs: 50 };
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const first = await startTestHub({ reportRetention: retention });
    const old = await TestAgent.connect(first.hub.url, await first.agentToken("old"));
    old.hello("old");
    await sendReports(old, ["1", "2"]);
    old.ws.terminate();
    await first.hub.close();
    const ahead = await startTestHub(
      { reportRetention: retention, timeShiftMs: () => 100 * 86_400_000, log: memoryLogger(lines) },
      first.dir,
    );
    try {
      const noisy = await TestAgent.connect(ahead.hub.url, await ahead.agentToken("noisy"));
      noisy.hello("noisy");
      await sendReports(noisy, ["a", "b", "c"]);
      // A prune has run: the one past noisy's count is gone.
      await expect
        .poll(() => lines.some((l) => l.msg === "pruned old reports"), { timeout: 10_000 })
        .toBe(true);
      expect(await kept("noisy", ahead)).toEqual(["c", "b"]);
      expect(await kept("old", ahead)).toEqual(["2", "1"]);
      noisy.ws.terminate();
    } finally {
      await ahead.stop();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
