/**
 * An update that failed and was NOT rolled back (auto_rollback_on excludes the trigger) leaves the
 * release installed: the agent's report must name that release as installed, or the hub keeps the
 * version it knew until the next hello and the fleet page shows a version the host no longer runs.
 * Real daemon, real pipeline, a scripted hub over a real WebSocket and HTTP.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { installedHost, startTestDaemon } from "./test-daemon.js";

describe("a failed update left installed, reported to the hub", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  /** The instruction of the first case, sent again by the second under another deployment id. */
  let deploy: Extract<Parameters<ScriptedHub["send"]>[0], { type: "deploy" }> | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-daemon-left-"));
    hub = await ScriptedHub.start();
    const config = await installedHost(dir, hub.url);
    daemon = await startTestDaemon(config, memoryLogger());
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("names the release now installed (installedReleaseId) in the failure report", {
    timeout: 60_000,
  }, async () => {
    await hub.until("hello", () => hub.messages("hello").length > 0);
    const tree = join(dir, "releases", "2.0.0");
    await writeRelease(tree, { version: "2.0.0", test: "exit 1" });
    // Its test fails, but only a service that does not start would roll it back: it stays.
    const manifestFile = join(tree, "update-manifest.yaml");
    const manifest = parse(await readFile(manifestFile, "utf8")) as Record<string, unknown>;
    await writeFile(
      manifestFile,
      stringify({ ...manifest, rollback: { auto_rollback_on: ["service_start_fail"] } }),
    );
    const file = `${tree}.tar.gz`;
    await createTar({ gzip: true, file, cwd: tree, portable: true }, ["."]);
    const sha256 = await hub.serve("/files/sample-2.0.0.tar.gz", file);
    deploy = {
      type: "deploy",
      v: 1,
      deploymentId: "d-2",
      app: APP,
      release: {
        id: "release-2.0.0",
        app: APP,
        version: "2.0.0",
        manifest: await readFile(manifestFile, "utf8"),
        source: { type: "http", url: `${hub.url}/files/sample-2.0.0.tar.gz`, sha256 },
      },
      rollback: false,
    };
    hub.send(deploy);
    await hub.until("report d-2", () => hub.messages("report").some((r) => r.deploymentId === "d-2"));
    const report = hub.messages("report").find((r) => r.deploymentId === "d-2");
    expect(await readFile(join(dir, "app", "app.txt"), "utf8")).toBe("2.0.0\n");
    expect(report).toMatchObject({
      outcome: "failed",
      toVersion: "2.0.0",
      installedReleaseId: "release-2.0.0",
    });
  });

  it("answers a later instruction for that release with its failure, not 'already on it'", {
    timeout: 60_000,
  }, async () => {
    // Another rollout of 2.0.0 (a new deployment id): the host runs it, but broken.
    expect(hub.messages("report").find((r) => r.deploymentId === "d-2")?.outcome).toBe("failed");
    if (deploy === undefined) throw new Error("the first case sent no instruction");
    hub.send({ ...deploy, deploymentId: "d-3" });
    await hub.until("report d-3", () => hub.messages("report").some((r) => r.deploymentId === "d-3"));
    const report = hub.messages("report").find((r) => r.deploymentId === "d-3");
    expect(report).toMatchObject({
      outcome: "failed",
      fromVersion: "2.0.0",
      toVersion: "2.0.0",
      installedReleaseId: "release-2.0.0",
    });
    expect(report?.error).toMatch(
      /^sample 2\.0\.0 is installed already, but its last run failed \(failed_not_rolled_back\): .+; roll it back/,
    );
    expect(await readFile(join(dir, "app", "app.txt"), "utf8")).toBe("2.0.0\n");
  });
});
