/**
 * An instruction that fails is logged at ERROR. One the pipeline never ran (here: an app this agent
 * has no [sources.APP] for, as after the source was removed with its instruction still on disk)
 * ended on "instruction finished" at INFO alone: under `[general.logging] level = "WARNING"` or
 * `journalctl -p warning` the host showed nothing of a deployment the hub counted failed. Real
 * daemon, a scripted hub over a real WebSocket.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { ScriptedHub } from "./scripted-hub.js";
import { startTestDaemon } from "./test-daemon.js";

describe("the log level of a finished instruction", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-daemon-level-"));
    hub = await ScriptedHub.start();
    await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
    const config = AgentConfig.parse({
      general: {
        state_file: join(dir, "state", "ship-state.json"),
        backup_dir: join(dir, "state", "backups"),
      },
      sources: { web: { type: "hub", app_dir: join(dir, "web") } },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    daemon = await startTestDaemon(config, memoryLogger(lines));
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a failed one is at ERROR, naming why", { timeout: 60_000 }, async () => {
    await hub.until("hello", () => hub.messages("hello").length > 0);
    hub.send({
      type: "deploy",
      v: 1,
      deploymentId: "d-1",
      app: "api",
      release: {
        id: "release-api-2",
        app: "api",
        version: "2.0.0",
        manifest: 'version: "2.0.0"\n',
        source: { type: "hub", sha256: "0".repeat(64) },
      },
      rollback: false,
    });
    await hub.until("report d-1", () => hub.messages("report").some((r) => r.deploymentId === "d-1"));
    expect(hub.messages("report").find((r) => r.deploymentId === "d-1")?.outcome).toBe("failed");
    const finished = lines.filter((l) => l.msg === "instruction finished" && l.data?.deployment === "d-1");
    expect(finished.map((l) => [l.level, l.data?.outcome])).toEqual([["error", "failed"]]);
    expect(String(finished[0]?.data?.error)).toMatch(/no \[sources\.api\]/);
  });
});
