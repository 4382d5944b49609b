/**
 * The manifest's webhook notifications, sent by `ship agent` carrying out a hub rollout. The
 * daemon runs from the CLI's ES module bundle, where loading undici lazily gave a module with no
 * `request`: every webhook and Slack message from a daemon failed ("request is not a function")
 * while the same manifest notified from a timer run. Real hub, real agent, real HTTP receiver.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("notifications from a daemon's update (real hub, real agent)", () => {
  let fleet: Fleet;
  let server: Server;
  let url = "";
  const bodies: Record<string, unknown>[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    await new Promise((r) => server.close(r));
  });

  const rollout = async (version: string, test?: string) => {
    const hook = { type: "webhook", url, message: "{app} {version}: {error}" };
    const release = await fleet.publish({
      version,
      ...(test === undefined ? {} : { test }),
      notifications: { on_success: [hook], on_failure: [hook] },
    });
    return (
      await fleet.api<{ id: string }>("POST", "/rollouts", {
        release,
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      })
    ).id;
  };

  // The webhook goes out before the agent's report reaches the hub: the next rollout of the app
  // waits until this one has ended.
  const settled = (id: string) =>
    fleet.waitFor(`rollout ${id} ended`, async () =>
      ["completed", "paused", "failed", "aborted"].includes((await fleet.rollout(id)).state),
    );

  it("a successful update posts on_success, a failed one on_failure", { timeout: 90_000 }, async () => {
    await settled(await rollout("2.0.0"));
    await fleet.waitFor("the on_success webhook", async () => bodies.length >= 1);
    expect(bodies[0]).toMatchObject({ version: "2.0.0", status: "success" });

    await rollout("3.0.0", "false");
    await fleet.waitFor("the on_failure webhook", async () => bodies.length >= 2);
    expect(bodies[1]).toMatchObject({ version: "3.0.0", status: "failure" });
    expect(String(bodies[1]?.error)).not.toBe("");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
