/**
 * The hub times out a deployment with no progress for progress_timeout_seconds. An instruction
 * queued behind another app's long update on the same host sent nothing until its turn came, so
 * the hub counted it failed (and halted its wave) while it only waited. The running instruction
 * and those queued behind it now send a sign of life. Real WebSocket, real HTTP, real pipeline.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";

describe("ship agent's sign of life to the hub", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sign-of-life-"));
    hub = await ScriptedHub.start();
  });
  afterEach(async () => {
    await daemon?.stop();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deployOf = async (app: string, preUpdate: string[]): Promise<Deploy> => {
    const tree = join(dir, "releases", app);
    await writeRelease(tree, { version: "2.0.0", preUpdate });
    const file = `${tree}.tar.gz`;
    await createTar({ gzip: true, file, cwd: tree, portable: true }, ["."]);
    const sha256 = await hub.serve(`/files/${app}.tar.gz`, file);
    return {
      type: "deploy",
      v: 1,
      deploymentId: `d-${app}`,
      app,
      rollback: false,
      release: {
        id: `release-${app}`,
        app,
        version: "2.0.0",
        manifest: await readFile(join(tree, "update-manifest.yaml"), "utf8"),
        source: { type: "http", url: `${hub.url}/files/${app}.tar.gz`, sha256 },
      },
    };
  };

  it("for the running instruction's long step and for one queued behind it", {
    timeout: 120_000,
  }, async () => {
    for (const app of ["web", "api"]) await mkdir(join(dir, app));
    const config = AgentConfig.parse({
      general: { state_file: join(dir, "state", "state.json"), backup_dir: join(dir, "backups") },
      sources: {
        web: { type: "hub", app_dir: join(dir, "web") },
        api: { type: "hub", app_dir: join(dir, "api") },
      },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    daemon = new AgentDaemon({
      config,
      agentId: "host-1",
      token: "t",
      log: memoryLogger(),
      delayScale: 0,
      retryDelayMs: 0,
      heartbeatMs: 200,
    });
    await daemon.start();
    await hub.until("hello", () => hub.messages("hello").length > 0);
    const web = await deployOf("web", ["sleep 3"]);
    const api = await deployOf("api", []);
    hub.send(web);
    await hub.until("web under way", () => hub.messages("progress").some((p) => p.deploymentId === "d-web"));
    hub.send(api);
    // Two updates (one with a 3 s step) took over 20 s at load 33: the deadline is for a hang.
    await hub.until("both reports", () => hub.messages("report").length === 2, 90_000);

    const progress = hub.messages("progress");
    expect(progress.some((p) => p.deploymentId === "d-web" && p.message === "still working")).toBe(true);
    // Before: nothing for api until web's update had finished.
    const apiFirst = progress.find((p) => p.deploymentId === "d-api");
    expect(apiFirst).toMatchObject({
      step: "waiting",
      message: "waiting for web's update on this host to finish",
    });
    expect(hub.messages("report").map((r) => [r.deploymentId, r.outcome])).toEqual([
      ["d-web", "succeeded"],
      ["d-api", "succeeded"],
    ]);
  });
});
