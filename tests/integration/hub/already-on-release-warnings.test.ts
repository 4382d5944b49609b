/**
 * Warnings are about what the rollout will do. An agent that runs the release already is planned
 * succeeded at create and sent nothing: it cannot time out as failed, leave a wave waiting or test
 * anything. A fleet all on web 4.0.0 (one host offline) was warned that the offline host could halt
 * the rollout, which then completed at once. Real hub, agents over a real WebSocket, the real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { type HelloApps, hubPerTest, publishRelease, type TestHub } from "./support.js";

const hubs = hubPerTest();
const on = (version: string): HelloApps => [{ app: "web", version, state: "updated", releaseId: undefined }];

/** Agents online on `online`'s versions, then those of `offline` seen once and gone. */
async function fleet(t: TestHub, online: Record<string, string>, offline: Record<string, string>) {
  for (const [id, version] of Object.entries(online)) await hubs.connect(t, id, on(version));
  for (const [id, version] of Object.entries(offline)) {
    const agent = await hubs.connect(t, id, on(version));
    agent.ws.close();
    await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(false);
  }
}

const warningLines = (r: { stderr: string }) => r.stderr.split("\n").filter((l) => l.startsWith("warning:"));

describe("rollout warnings count only the agents the rollout will send the release to", () => {
  it("a fleet all on the release: one warning that nothing is sent, none about an offline host halting it", async () => {
    requireHubBin();
    const t = await hubs.start();
    const release = await publishRelease(t, "4.0.0");
    await fleet(t, { a1: "4.0.0", a2: "4.0.0", a3: "4.0.0", a4: "4.0.0" }, { a9: "4.0.0" });
    const cli = (...args: string[]) =>
      runHubCli(process.cwd(), args, { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator });
    const args = ["rollout", "create", "--app", "web", "--version", "4.0.0", "--wave", "c=agents:a1"];
    const said = [
      "every one of the rollout's 5 agent(s) runs web 4.0.0 already (a1, a2, a3, a4, a9): the rollout sends nothing, tests nothing, and completes at once",
    ];
    const preview = await cli(...args, "--wave", "rest=100", "--preview");
    expect(preview.code).toBe(0);
    expect(warningLines(preview).map((l) => l.replace(/^warning: [^:]+: /, ""))).toEqual(said);
    const created = await cli(...args, "--wave", "rest=100");
    expect(created.code, created.stderr).toBe(0);
    expect(warningLines(created).map((l) => l.replace(/^warning: [^:]+: /, ""))).toEqual(said);
    // The API says it under the field it is about.
    const api = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(api.body.warnings).toEqual([`body.release: ${said[0]}`]);
  });

  it("a canary already on the release, an offline host already on it, a threshold only the others can reach", async () => {
    const t = await hubs.start();
    const release = await publishRelease(t, "4.0.0");
    await fleet(t, { a1: "4.0.0", a2: "3.0.0", a3: "3.0.0" }, { a4: "3.0.0", a9: "4.0.0" });
    const preview = async (waves: unknown[], extra: Record<string, unknown> = {}) =>
      (
        await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
          token: t.operator,
          body: { release, waves, ...extra },
        })
      ).body.warnings;
    // The canary tests nothing; a9 (offline, on 4.0.0) is no threat to it; only a2, a3 and a4 can fail.
    expect(
      await preview(
        [
          { name: "c", agents: ["a1"] },
          { name: "rest", percent: 100 },
        ],
        { failureThreshold: { count: 4 } },
      ),
    ).toEqual([
      "body.waves[0] (c): every agent of it runs web 4.0.0 already (a1): nothing is sent to it, so it tests nothing, and advancing passes it, sending the release to wave 2 (rest) untested",
      "body.failureThreshold: 4 failure(s) is more than the 3 agent(s) of the rollout that can fail now (2 more run the release already): the release failing on every one of them neither halts it",
    ]);
    // A canary of a1 (done) and a4 (offline, still to update): it waits for a4 alone.
    expect(
      await preview([
        { name: "c", agents: ["a1", "a4"] },
        { name: "rest", percent: 100 },
      ]),
    ).toEqual([
      "body.waves[0] (c): every agent of it still to update is offline now (a4): the wave waits for them, and each that stays away past the hub's offline timeout counts as failed",
    ]);
    // Left out of every wave, a9 loses nothing: it runs the release already.
    expect(await preview([{ name: "c", agents: ["a1", "a2"] }])).toEqual([
      "body.waves[0]: 2 of the rollout's 5 agent(s) are in no wave (a3, a4) and will not be updated by it; end with a 100 % wave to take them",
    ]);
    // Offline a9 on the release in a two-host canary with a threshold of 1 cannot halt it there
    // (it was said to): a4, offline and still to update, can once the release reaches it.
    expect(
      await preview([
        { name: "c", agents: ["a2", "a9"] },
        { name: "rest", percent: 100 },
      ]),
    ).toEqual([
      "body.failureThreshold: 1 of the 3 agent(s) it updates in the waves up to rest (2 more run the release already, not counted) are offline now (a4): if they stay away past the hub's offline timeout they count as failed, enough to halt the rollout (1 failure(s)) with nothing wrong in the release",
    ]);
    // A percent threshold is of the hosts the rollout updates (a2, a4), as the engine counts it:
    // a4 timing out is 1 of 2, 50 %, a halt. Counted of all 4 (a1 and a9 on the release) it read
    // 25 %, and nothing was said.
    expect(
      await preview(
        [
          { name: "c", agents: ["a1", "a9", "a2", "a4"] },
          { name: "rest", percent: 100 },
        ],
        { failureThreshold: { percent: 50 } },
      ),
    ).toEqual([
      "body.failureThreshold: 1 of the 2 agent(s) it updates in the waves up to c (2 more run the release already, not counted) are offline now (a4): if they stay away past the hub's offline timeout they count as failed, enough to halt the rollout (50% failed of the agents it updates) with nothing wrong in the release",
    ]);
  });
});
