/**
 * `ship agent` sent an update's on_success/on_failure before its report: a webhook that hung held
 * the report, and the hub's wave behind it, for the webhook's timeout and its retry. Now the report
 * goes first, and what did not arrive is a WARNING of the agent's log. Real daemon, a scripted hub
 * over a real WebSocket, a real HTTP webhook receiver that holds its answer.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { startTestDaemon } from "./test-daemon.js";

describe("an update's notifications under ship agent", () => {
  let dir: string;
  let hub: ScriptedHub;
  let webhook: Server;
  let daemon: AgentDaemon | undefined;
  const held: ServerResponse[] = [];
  const lines: { level: string; msg: string }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-notify-after-report-"));
    hub = await ScriptedHub.start();
    webhook = createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((ok) => webhook.listen(0, "127.0.0.1", ok));
    const appDir = join(dir, "app");
    await mkdir(appDir);
    await writeRelease(join(dir, "1.0.0"), { version: "1.0.0" });
    await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
    const config = AgentConfig.parse({
      general: {
        state_file: join(dir, "state", "ship-state.json"),
        backup_dir: join(dir, "state", "backups"),
      },
      sources: { [APP]: { type: "local", app_dir: appDir, path: join(dir, "1.0.0") } },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);
    daemon = await startTestDaemon(config, memoryLogger(lines));
  }, 60_000);

  afterAll(async () => {
    for (const res of held) res.destroy();
    await daemon?.stop();
    await hub?.close();
    webhook?.closeAllConnections();
    await new Promise((ok) => webhook?.close(ok));
    await rm(dir, { recursive: true, force: true });
  });

  it("reports to the hub while the webhook still hangs, then warns of what did not arrive", {
    timeout: 60_000,
  }, async () => {
    const tree = join(dir, "2.0.0");
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    await writeRelease(tree, {
      version: "2.0.0",
      notifications: { on_success: [{ type: "webhook", url, timeout: 60 }] },
    });
    await hub.deployTarball(tree, APP, "2.0.0");
    await hub.until("the webhook called", () => held.length > 0);
    // Before: no report until the webhook answered or its 60 s timeout (twice) ran out.
    await hub.until("the report, the webhook unanswered", () => hub.messages("report").length > 0, 10_000);
    expect(hub.messages("report")[0]?.outcome).toBe("succeeded");
    for (const res of held.splice(0)) res.writeHead(500).end();
    // The retry gets its 500 too.
    const answerRetries = setInterval(() => {
      for (const res of held.splice(0)) res.writeHead(500).end();
    }, 50);
    try {
      await hub.until("the undelivered notification warned", () =>
        lines.some(
          (l) =>
            l.level === "warn" &&
            l.msg.startsWith(`${APP}: WARNING: on_success[0] webhook to http://127.0.0.1:`) &&
            l.msg.includes("HTTP 500"),
        ),
      );
    } finally {
      clearInterval(answerRetries);
    }
  });
});
