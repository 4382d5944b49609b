/**
 * A WARNING longer than the hub takes (2,000 characters) was cut mid-word in the report, and read
 * as the whole of it: the hub's operator could not tell that more was said, or where. Now the cut
 * says so, with the length and where the whole text is (the agent's log, which holds it in full).
 * Real daemon, real WebSocket, real HTTP download, real merge.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";

type Line = { level: string; msg: string };

describe("a report's WARNING longer than the hub takes", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  const lines: Line[] = [];
  const comment = `# ops: ${"the cron job on db-2 reads old; ".repeat(100).trim()}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-long-warning-"));
    hub = await ScriptedHub.start();
    const appDir = join(dir, "app");
    await mkdir(appDir);
    await writeRelease(join(dir, "1.0.0"), {
      version: "1.0.0",
      files: { "config.toml": "a = 1\nold = 1\n" },
    });
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
    await writeFile(join(appDir, "config.toml"), `a = 1\n${comment}\nold = 1\n`);
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

  it("ends the cut text saying it was cut, how long it was and where the whole is", {
    timeout: 60_000,
  }, async () => {
    const tree = join(dir, "2.0.0");
    await writeRelease(tree, { version: "2.0.0", files: { "config.toml": "a = 1\n" } });
    await hub.deployTarball(tree, APP, "2.0.0");
    await hub.until("the report", () => hub.messages("report").length > 0);
    const report = hub.messages("report")[0];
    expect(report?.outcome, report?.error).toBe("succeeded");
    const sent = report?.merges?.[0]?.warnings[0] ?? "";
    // The whole warning, as the merge logged it on the host.
    const whole = lines.find((l) => l.level === "warn" && l.msg.includes("your comments went"))?.msg ?? "";
    expect(whole).toContain(comment);
    const wholeLength = whole.length - "merge of config.toml: ".length;
    expect(sent).toHaveLength(2000);
    expect(
      sent.startsWith("your comments went with the keys the merge removed (old): # ops: the cron job"),
    ).toBe(true);
    expect(sent).toMatch(
      new RegExp(
        ` … \\[cut at 2,000 of ${wholeLength.toLocaleString("en")} characters; the whole text is in the agent's log on this host\\]$`,
      ),
    );
  });
});
