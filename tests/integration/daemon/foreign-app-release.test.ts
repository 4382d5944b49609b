/**
 * A hub instruction for one app carrying another app's release. Every release here is signed by a
 * key the agent trusts, so only the app the signature names tells them apart: a stolen hub that
 * wraps app `other`'s signed release in an instruction for `sample` must not get it installed into
 * `sample`'s directory. The agent checks the signature against its own app name and refuses,
 * downloading nothing and changing nothing. Real daemon, real WebSocket, real HTTP.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { startTestDaemon } from "./test-daemon.js";

describe("an instruction for one app carrying another app's signed release", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  const keys = generateKeyPairSync("ed25519");
  const appVersion = async () => (await readFile(join(dir, "app", "app.txt"), "utf8")).trim();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-foreign-app-"));
    hub = await ScriptedHub.start();
    const v1 = join(dir, "releases", "1.0.0");
    await writeRelease(v1, { version: "1.0.0" });
    await mkdir(join(dir, "app"), { recursive: true });
    await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
    const config = AgentConfig.parse({
      general: {
        state_file: join(dir, "state", "ship-state.json"),
        backup_dir: join(dir, "state", "backups"),
        work_dir: join(dir, "work"),
      },
      sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: v1 } },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);
    daemon = await startTestDaemon(
      AgentConfig.parse({
        ...config,
        trust: { keys: [keys.publicKey.export({ type: "spki", format: "pem" }).toString()] },
      }),
      memoryLogger(),
    );
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `other`'s release `version` as CI signed it, served by the hub. */
  async function othersRelease(version: string): Promise<DeployRelease> {
    const tree = join(dir, "releases", `other-${version}`);
    await writeRelease(tree, { version });
    await createTar({ gzip: true, file: `${tree}.tar.gz`, cwd: tree, portable: true }, ["."]);
    const sha256 = await hub.serve(`/other-${version}.tar.gz`, `${tree}.tar.gz`);
    const manifest = await readFile(join(tree, "update-manifest.yaml"), "utf8");
    const payload = {
      app: "other",
      version,
      artifactSha256: sha256,
      manifestSha256: createHash("sha256").update(manifest).digest("hex"),
    };
    const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
      id: `r-other-${version}`,
      version,
      manifest,
      source: { type: "http", url: `${hub.url}/other-${version}.tar.gz`, sha256 },
      signature: JSON.stringify(signRelease(payload, privatePem)),
      app: "other",
    };
  }

  it.each([
    ["names the other app as the release's app", "other", "2.0.0"],
    ["claims the release is this app's", APP, "3.0.0"],
  ])("refuses it when the instruction %s, and installs nothing", async (_what, releaseApp, version) => {
    const release = { ...(await othersRelease(version)), app: releaseApp };
    await hub.until("hello", () => hub.messages("hello").length > 0);
    const deploymentId = `d-${releaseApp}`;
    hub.send({ type: "deploy", v: 1, deploymentId, app: APP, release, rollback: false });
    await hub.until("report", () => hub.messages("report").some((r) => r.deploymentId === deploymentId));
    const report = hub.messages("report").find((r) => r.deploymentId === deploymentId);
    expect(report?.outcome).toBe("failed");
    expect(report?.error ?? "").toMatch(/other/);
    expect(await appVersion()).toBe("1.0.0");
  });
});
