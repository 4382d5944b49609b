/**
 * The manifest's webhook notifications, sent by `ship agent` carrying out a hub rollout. The
 * daemon runs from the CLI's ES module bundle, where loading undici lazily gave a module with no
 * `request`: every webhook and Slack message from a daemon failed ("request is not a function")
 * while the same manifest notified from a timer run. Real hub, real agent, real HTTP receiver.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookReceiver } from "../support/servers/webhook-receiver.js";
import { Fleet } from "./fleet.js";

describe("notifications from a daemon's update (real hub, real agent)", () => {
  let fleet: Fleet;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  beforeAll(async () => {
    hook = await webhookReceiver();
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    await hook?.close();
  });

  const rollout = async (version: string, test?: string) => {
    const notify = { type: "webhook", url: hook.url, message: "{app} {version}: {error}" };
    const release = await fleet.publish({
      version,
      ...(test === undefined ? {} : { test }),
      notifications: { on_success: [notify], on_failure: [notify] },
    });
    return fleet.rolloutToAll(release);
  };

  // The webhook goes out before the agent's report reaches the hub: the next rollout of the app
  // waits until this one has ended.
  const settled = (id: string) =>
    fleet.waitFor(`rollout ${id} ended`, async () =>
      ["completed", "paused", "failed", "aborted"].includes((await fleet.rollout(id)).state),
    );

  it("a successful update posts on_success, a failed one on_failure", { timeout: 90_000 }, async () => {
    await settled(await rollout("2.0.0"));
    await fleet.waitFor("the on_success webhook", async () => hook.bodies.length >= 1);
    expect(hook.bodies[0]).toMatchObject({ version: "2.0.0", status: "success" });

    // A test runner that colours its verdict: the escape codes went raw into the webhook and the
    // hub's reason (shown there as "\u001b[31m…"); the agent's log keeps the output as it came.
    const id = await rollout(
      "3.0.0",
      String.raw`printf '\033[1;31mFAIL\033[0m port 8080 in use\n\033[0m' >&2; exit 1`,
    );
    await fleet.waitFor("the on_failure webhook", async () => hook.bodies.length >= 2);
    expect(hook.bodies[1]).toMatchObject({ version: "3.0.0", status: "failure" });
    const said = String(hook.bodies[1]?.error);
    expect(said).toMatch(/exited with 1: FAIL port 8080 in use/);
    expect(said).not.toContain("\u001b");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    await settled(id);
    const failed = (await fleet.rollout(id)).waves.flatMap((w) => w.agents);
    expect(failed.map((a) => a.error)).toEqual([
      expect.stringMatching(/exited with 1: FAIL port 8080 in use/),
    ]);
    // JSON writes the escape byte as the six characters \u001b.
    expect(JSON.stringify(failed)).not.toContain("\\u001b");
    const log = await readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
    expect(log).toMatch(/\\u001b\[1;31mFAIL/);
  });
});
