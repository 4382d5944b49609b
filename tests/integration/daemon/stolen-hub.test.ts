/**
 * What a stolen hub's word cannot change on an agent. Real daemon, real WebSocket, real HTTP.
 * - A hub instruction for one app carrying another app's release. Every release here is signed by
 *   a key the agent trusts, so only the app the signature names tells them apart: a hub that wraps
 *   app `other`'s signed release in an instruction for `sample` must not get it installed into
 *   `sample`'s directory. The agent refuses, downloading nothing and changing nothing.
 * - A token "renewal" that makes the agent another agent, or an operator: not taken, not saved.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentDaemon, daemonDir } from "../../../agent/daemon/agent-daemon.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { installedHost, startTestDaemon } from "./test-daemon.js";

describe("a stolen hub against a daemon with [trust] keys", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;
  let config: AgentConfig;
  const lines: { level: string; msg: string }[] = [];
  const keys = generateKeyPairSync("ed25519");
  const appVersion = async () => (await readFile(join(dir, "app", "app.txt"), "utf8")).trim();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-foreign-app-"));
    hub = await ScriptedHub.start();
    const installing = await installedHost(dir, hub.url);
    config = AgentConfig.parse({
      ...installing,
      trust: { keys: [keys.publicKey.export({ type: "spki", format: "pem" }).toString()] },
    });
    daemon = await startTestDaemon(config, memoryLogger(lines));
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * `app`'s release `version` as CI signed it, served by the hub; `manifestInside: false` is an
   * archive published with its manifest beside it (`ship release publish --artifact A --manifest M`).
   */
  async function signedRelease(app: string, version: string, manifestInside = true): Promise<DeployRelease> {
    const tree = join(dir, "releases", `${app}-${version}`);
    await writeRelease(tree, { version });
    const manifest = await readFile(join(tree, "update-manifest.yaml"), "utf8");
    if (!manifestInside) await rm(join(tree, "update-manifest.yaml"));
    await createTar({ gzip: true, file: `${tree}.tar.gz`, cwd: tree, portable: true }, ["."]);
    const sha256 = await hub.serve(`/${app}-${version}.tar.gz`, `${tree}.tar.gz`);
    const payload = {
      app,
      version,
      artifactSha256: sha256,
      manifestSha256: createHash("sha256").update(manifest).digest("hex"),
    };
    const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
      id: `r-${app}-${version}`,
      version,
      manifest,
      source: { type: "http", url: `${hub.url}/${app}-${version}.tar.gz`, sha256 },
      signature: JSON.stringify(signRelease(payload, privatePem)),
      app,
    };
  }

  it.each([
    ["names the other app as the release's app", "other", "2.0.0"],
    ["claims the release is this app's", APP, "3.0.0"],
  ])(
    "refuses another app's signed release when the instruction %s, and installs nothing",
    async (_what, releaseApp, version) => {
      const release = { ...(await signedRelease("other", version)), app: releaseApp };
      await hub.until("hello", () => hub.messages("hello").length > 0);
      const deploymentId = `d-${releaseApp}`;
      hub.send({ type: "deploy", v: 1, deploymentId, app: APP, release, rollback: false });
      await hub.until("report", () => hub.messages("report").some((r) => r.deploymentId === deploymentId));
      const report = hub.messages("report").find((r) => r.deploymentId === deploymentId);
      expect(report?.outcome).toBe("failed");
      expect(report?.error ?? "").toMatch(/other/);
      expect(await appVersion()).toBe("1.0.0");
    },
  );

  it("judges an archive published with its manifest beside it by that manifest: an older one is a refused downgrade", async () => {
    const release = await signedRelease(APP, "0.5.0", false);
    await hub.until("hello", () => hub.messages("hello").length > 0);
    hub.send({ type: "deploy", v: 1, deploymentId: "d-old", app: APP, release, rollback: false });
    await hub.until("report", () => hub.messages("report").some((r) => r.deploymentId === "d-old"));
    const report = hub.messages("report").find((r) => r.deploymentId === "d-old");
    expect(report?.outcome).toBe("failed");
    expect(report?.error ?? "").toMatch(/release 0\.5\.0 is older than the installed 1\.0\.0/);
    expect(await appVersion()).toBe("1.0.0");
  });

  it("installs a newer archive published with its manifest beside it, running that manifest's tests", async () => {
    const release = await signedRelease(APP, "4.0.0", false);
    hub.send({ type: "deploy", v: 1, deploymentId: "d-new", app: APP, release, rollback: false });
    await hub.until("report", () => hub.messages("report").some((r) => r.deploymentId === "d-new"));
    const report = hub.messages("report").find((r) => r.deploymentId === "d-new");
    expect(report, report?.error).toMatchObject({ outcome: "succeeded", toVersion: "4.0.0" });
    expect(report?.steps.map((s) => s.name)).toContain("tests");
    expect(await appVersion()).toBe("4.0.0");
  });

  it.each([
    ["another agent's", { role: "agent", sub: "host-2" }],
    ["an operator's", { role: "operator", sub: "host-1" }],
  ])("keeps its token when a renewal is %s", async (_what, claims) => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const forged = `${part({ alg: "HS256", typ: "JWT" })}.${part({ ...claims, iat: now, exp: now + 3600 })}.sig`;
    await hub.until("hello", () => hub.messages("hello").length > 0);
    hub.send({ type: "token", v: 1, token: forged, expires: new Date((now + 3600) * 1000).toISOString() });
    const saved = join(daemonDir(config), "hub.token");
    const kept = () => lines.find((l) => l.msg.startsWith("kept this agent's token"));
    await expect.poll(() => existsSync(saved) || kept() !== undefined).toBe(true);
    expect(existsSync(saved)).toBe(false);
    expect(kept()?.msg).toContain(claims.sub);
    lines.length = 0;
  });
});
