/**
 * `rollout show --watch` ended with exit 1 ("cannot reach the hub") the moment the hub restarted
 * under it (an upgrade, a crash its service manager restarted): a script waiting on the rollout read
 * that as the rollout's failure. It now says the hub is unreachable, goes on trying, and ends as the
 * rollout does. Real hub (in process, restarted on the same port and data), real CLI process.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, reportAcked, startTestHub, TestAgent } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

describe("rollout show --watch while the hub restarts", () => {
  it("keeps watching through the outage and exits 0 when the rollout completes", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await session.connect(t, "a1");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    await a1.next(isDeploy);
    const url = t.hub.url;
    const watching = runHubCli(t.dir, ["rollout", "show", id, "--watch", "--interval", "0.2", "--hub", url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    // Let it draw the rollout at least once, then the hub goes away for longer than an interval.
    await new Promise((r) => setTimeout(r, 1500));
    a1.ws.terminate();
    await t.hub.close();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await startTestHub({ port: Number(new URL(url).port) }, t.dir);
    try {
      const back = await TestAgent.connect(again.hub.url, await again.agentToken("a1"));
      back.hello("a1");
      // Still owed the release after the restart: sent again on its hello, and it succeeds.
      await reportAcked(back, await back.next(isDeploy), "succeeded");
      const watched = await watching;
      expect(watched.stderr).toMatch(
        /^cannot reach the hub at http:\/\/127\.0\.0\.1:\d+: .*: still watching, trying again every 0\.2 s for up to 5 min\n/,
      );
      expect(watched.stderr).toContain("hub answering again: still watching\n");
      expect(watched.stdout).toMatch(/state {4}completed/);
      expect(watched.code).toBe(0);
      back.ws.terminate();
    } finally {
      await again.hub.close();
    }
  });
});
