/**
 * A report larger than the hub takes (its hub.toml `max_message_kb`) closed the agent's channel
 * (1009) and was sent again at every reconnect, the agent reconnecting several times a second at
 * INFO ("hub connection closed; reconnecting") until the hub refused it for connecting too often;
 * the deployment stayed in_progress with no word of why. Now the close is an ERROR naming the
 * limit, and the agent sends its reports shortened from then on, so the outcome reaches the hub.
 * Real daemon, real WebSocket peer with the hub's size limit, real HTTP download.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, configToml, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";

type Line = { level: string; msg: string };

describe("a report larger than the hub takes", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  const lines: Line[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-oversize-report-"));
    hub = await ScriptedHub.start({ maxPayload: 8 * 1024 });
    const appDir = join(dir, "app");
    await mkdir(appDir);
    await writeRelease(join(dir, "1.0.0"), { version: "1.0.0" });
    await writeFile(join(dir, "token"), "agent-token\n", { mode: 0o600 });
    const config = AgentConfig.parse({
      general: {
        state_file: join(dir, "state", "ship-state.json"),
        backup_dir: join(dir, "state", "backups"),
      },
      sources: { [APP]: { type: "local", app_dir: appDir, path: join(dir, "1.0.0") } },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);
    daemon = new AgentDaemon({
      config,
      agentId: "host-1",
      token: "agent-token",
      log: memoryLogger(lines),
      delayScale: 0,
      retryDelayMs: 0,
      reconnectBaseMs: 50,
    });
    await daemon.start();
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reaches the hub shortened, and the agent says why the channel closed", {
    timeout: 60_000,
  }, async () => {
    const tree = join(dir, "2.0.0");
    // The config's merge report (300 keys the release adds, each named) is more than the hub takes
    // in one message. (A failure's quoted line no longer can be: run-command keeps its last 400
    // characters.)
    const added = Array.from({ length: 300 }, (_, i) => `setting_added_by_this_release_${i} = ${i}\n`);
    const config = configToml("default", `# added in 2.0.0\nworkers = 4\n${added.join("")}`);
    await writeRelease(tree, { version: "2.0.0", files: { "config.toml": config } });
    await hub.deployTarball(tree, APP, "2.0.0");
    await hub.until("the report", () => hub.messages("report").length > 0);
    const report = hub.messages("report")[0];
    expect(report?.outcome).toBe("succeeded");
    expect(report?.toVersion).toBe("2.0.0");
    expect(report?.merges).toBeUndefined();
    expect(report?.warnings?.at(-1)).toMatch(
      /^this report was shortened: the hub closed the channel on a larger one \(its max_message_kb\); 1 merged file\(s\) not listed/,
    );
    expect(
      lines.some(
        (l) =>
          l.level === "error" &&
          l.msg.includes("larger than the hub takes (1009") &&
          l.msg.includes("max_message_kb"),
      ),
    ).toBe(true);
  });
});
