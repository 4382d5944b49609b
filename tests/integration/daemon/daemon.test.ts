import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentDaemon, daemonDir } from "../../../agent/daemon/agent-daemon.js";
import { DesiredStateStore } from "../../../agent/daemon/desired-state.js";
import { acquireAppLock } from "../../../agent/lock/run-lock.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { lockDir } from "../../../agent/pipeline/paths.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Deploy, DeployRelease } from "../../../shared/protocol/messages.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { startTestDaemon } from "./test-daemon.js";

type Line = { level: string; msg: string; data?: Record<string, unknown> };

async function poll(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

describe("ship agent daemon against a scripted hub (real WebSocket, real HTTP, real pipeline)", () => {
  let dir: string;
  let hub: ScriptedHub;
  let config: AgentConfig;
  let daemon: AgentDaemon | undefined;
  let lines: Line[];
  const appDir = () => join(dir, "app");
  const version = async () => (await readFile(join(appDir(), "app.txt"), "utf8")).trim();
  const outboxFiles = async () => {
    const box = join(daemonDir(config), "outbox");
    return existsSync(box) ? (await readdir(box)).filter((n) => n.endsWith(".json")) : [];
  };

  const archive = async (v: string): Promise<string> => {
    const tree = join(dir, "releases", v);
    await writeRelease(tree, { version: v });
    const file = `${tree}.tar.gz`;
    await createTar({ gzip: true, file, cwd: tree, portable: true }, ["."]);
    return file;
  };
  const release = async (v: string, source: DeployRelease["source"]): Promise<DeployRelease> => ({
    id: `release-${v}`,
    app: APP,
    version: v,
    manifest: await readFile(join(dir, "releases", v, "update-manifest.yaml"), "utf8"),
    source,
  });
  const deploy = (deploymentId: string, r: DeployRelease, rollback = false): Deploy => ({
    type: "deploy",
    v: 1,
    deploymentId,
    app: APP,
    release: r,
    rollback,
  });
  const startDaemon = async (hubUrl: string) => {
    config = AgentConfig.parse({ ...config, hub: { ...config.hub, url: hubUrl } });
    lines = [];
    daemon = await startTestDaemon(config, memoryLogger(lines));
  };
  const reportFor = (id: string) => hub.messages("report").find((r) => r.deploymentId === id);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-daemon-"));
    hub = await ScriptedHub.start();
    const v1 = join(dir, "releases", "1.0.0");
    await writeRelease(v1, { version: "1.0.0" });
    await mkdir(appDir(), { recursive: true });
    await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
    config = AgentConfig.parse({
      general: {
        state_file: join(dir, "state", "ship-state.json"),
        backup_dir: join(dir, "state", "backups"),
        work_dir: join(dir, "work"),
      },
      sources: { [APP]: { type: "local", app_dir: appDir(), path: v1 } },
      hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
    });
    const installed = await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() });
    expect(installed.exitCode).toBe(0);
    await startDaemon(hub.url);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("announces its apps, carries out a deploy from an HTTP source, streams progress, and keeps the report until acked", {
    timeout: 60_000,
  }, async () => {
    await hub.until("hello", () => hub.messages("hello").length > 0);
    expect(hub.messages("hello")[0]).toMatchObject({
      agentId: "host-1",
      apps: [{ app: APP, version: "1.0.0", state: "updated" }],
      // No [trust] allow_downgrade here: said, so the hub's rollout preview warns of a refusal.
      allowDowngrade: false,
    });

    const file = await archive("2.0.0");
    const sha256 = await hub.serve("/files/sample-2.0.0.tar.gz", file);
    hub.send(
      deploy(
        "d-2",
        await release("2.0.0", { type: "http", url: `${hub.url}/files/sample-2.0.0.tar.gz`, sha256 }),
      ),
    );
    await hub.until("report d-2", () => reportFor("d-2") !== undefined);

    const report = reportFor("d-2");
    expect(report).toMatchObject({
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      releaseId: "release-2.0.0",
    });
    expect(report?.steps.map((s) => s.name)).toContain("tests");
    // The config merge's key report travels with the outcome, and was logged at INFO.
    expect(report?.merges).toEqual([
      { file: "config.toml", kept: [], added: ["server.workers"], updated: [], removed: [], warnings: [] },
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "info",
        msg: "merged config.toml: 0 kept, 1 added, 0 updated, 0 removed",
      }),
    );
    expect(await version()).toBe("2.0.0");
    const progress = hub.messages("progress").filter((p) => p.deploymentId === "d-2");
    expect(progress[0]).toMatchObject({ step: "fetch", message: "started" });
    expect(progress).toContainEqual(expect.objectContaining({ step: "tests", message: "done" }));
    // The hub's token never goes to a release URL that is not the hub.
    expect(hub.artifactRequests.at(-1)?.authorization).toBeUndefined();

    // Not acked: the report survives a dropped connection and is resent (same id) on reconnect.
    expect(await outboxFiles()).toHaveLength(1);
    hub.disconnect();
    await hub.until(
      "resent report",
      () => hub.messages("report").filter((r) => r.deploymentId === "d-2").length === 2,
    );
    const [first, again] = hub.messages("report").filter((r) => r.deploymentId === "d-2");
    expect(again?.reportId).toBe(first?.reportId);
    hub.send({ type: "ack", v: 1, reportId: first?.reportId ?? "" });
    await poll("outbox emptied by the ack", async () => (await outboxFiles()).length === 0);
  });

  it("a repeated instruction re-sends its report and runs nothing", async () => {
    const before = hub.messages("report").length;
    const received = lines.filter((l) => l.msg === "instruction received").length;
    const r = await release("2.0.0", {
      type: "http",
      url: `${hub.url}/files/sample-2.0.0.tar.gz`,
      sha256: "0".repeat(64),
    });
    hub.send(deploy("d-2", r));
    await hub.until("re-sent report", () => hub.messages("report").length === before + 1);
    expect(hub.messages("report").at(-1)?.reportId).toBe(reportFor("d-2")?.reportId);
    expect(lines.filter((l) => l.msg === "instruction received")).toHaveLength(received);
    expect(await version()).toBe("2.0.0");
  });

  it("refuses bytes that do not hash to the release's sha256 and leaves the app as it was", async () => {
    const file = await archive("3.0.0");
    await hub.serve("/files/sample-3.0.0.tar.gz", file);
    hub.send(
      deploy(
        "d-bad",
        await release("3.0.0", {
          type: "http",
          url: `${hub.url}/files/sample-3.0.0.tar.gz`,
          sha256: "a".repeat(64),
        }),
      ),
    );
    await hub.until("report d-bad", () => reportFor("d-bad") !== undefined);
    expect(reportFor("d-bad")).toMatchObject({ outcome: "failed", toVersion: "3.0.0" });
    expect(reportFor("d-bad")?.error).toMatch(/sha256|checksum/i);
    expect(await version()).toBe("2.0.0");
  });

  it("fetches a hub artifact with the agent's token, then a rollback restores the newest backup exactly", {
    timeout: 60_000,
  }, async () => {
    const file = join(dir, "releases", "3.0.0.tar.gz");
    const sha256 = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
    await hub.serve(`/api/v1/artifacts/${sha256}`, file);
    hub.send(deploy("d-3", await release("3.0.0", { type: "hub", sha256 })));
    await hub.until("report d-3", () => reportFor("d-3") !== undefined);
    expect(reportFor("d-3")).toMatchObject({ outcome: "succeeded", toVersion: "3.0.0" });
    expect(hub.artifactRequests.at(-1)).toEqual({
      path: `/api/v1/artifacts/${sha256}`,
      authorization: "Bearer agent-token-for-host-1",
    });
    expect(await version()).toBe("3.0.0");

    const back = await release("2.0.0", {
      type: "http",
      url: `${hub.url}/files/sample-2.0.0.tar.gz`,
      sha256: "b".repeat(64),
    });
    hub.send(deploy("d-3~rollback", back, true));
    await hub.until("rollback report", () => reportFor("d-3~rollback") !== undefined);
    expect(reportFor("d-3~rollback")).toMatchObject({
      outcome: "succeeded",
      fromVersion: "3.0.0",
      toVersion: "2.0.0",
    });
    // The backup was used (the release's wrong sha256 proves nothing was downloaded).
    expect(reportFor("d-3~rollback")?.steps.map((s) => s.name)).toEqual(["restore backup"]);
    expect(await version()).toBe("2.0.0");
    // A hub app gets no run but the hub's next instruction, maybe weeks away: the daemon frees
    // what the restore took out itself (trash.ts), not leaving it on disk until then.
    expect(existsSync(join(config.general.backup_dir, APP, ".trash"))).toBe(false);
    expect(await readFile(join(appDir(), "config.toml"), "utf8")).not.toContain("added in 3.0.0");
    const state = JSON.parse(await readFile(config.general.state_file, "utf8"));
    expect(Object.values(state.sources)).toEqual([
      expect.objectContaining({ current_version: "2.0.0", last_result: "rolled_back", last_error: null }),
    ]);
  });

  it("a rollback that leaves an edited file alone says so in its report", { timeout: 60_000 }, async () => {
    const file = join(dir, "releases", "3.0.0.tar.gz");
    const sha256 = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
    hub.send(deploy("d-3b", await release("3.0.0", { type: "hub", sha256 })));
    await hub.until("report d-3b", () => reportFor("d-3b") !== undefined);
    expect(await version()).toBe("3.0.0");
    // app.txt is what 3.0.0 changed (its config merge changed nothing): edited on the host since.
    await writeFile(join(appDir(), "app.txt"), "edited on the host\n");
    const back = await release("2.0.0", { type: "http", url: `${hub.url}/none`, sha256: "b".repeat(64) });
    hub.send(deploy("d-3b~rollback", back, true));
    await hub.until("rollback report", () => reportFor("d-3b~rollback") !== undefined);
    expect(reportFor("d-3b~rollback")).toMatchObject({ outcome: "succeeded", toVersion: "2.0.0" });
    expect(reportFor("d-3b~rollback")?.error).toMatch(
      /^restored 2\.0\.0 except 1 path\(s\) it was not ship's to touch \(app\.txt: .*their previous versions are in \S+\.unrestored$/,
    );
    expect(await version()).toBe("edited on the host");
  });

  it("waits for a release server that is away, records nothing meanwhile, and finishes when it is back", {
    timeout: 60_000,
  }, async () => {
    const file = await archive("3.5.0");
    const body = await readFile(file);
    const sha256 = createHash("sha256").update(body).digest("hex");
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((ok) => server.close(() => ok()));
    const stateBefore = await readFile(config.general.state_file, "utf8");

    const url = `http://127.0.0.1:${port}/sample-3.5.0.tar.gz`;
    const from = lines.length;
    hub.send(deploy("d-away", await release("3.5.0", { type: "http", url, sha256 })));
    await poll("a retry", async () =>
      lines.some((l) => l.msg.startsWith("could not start this instruction now")),
    );
    expect(reportFor("d-away")).toBeUndefined();
    // A failure that will be tried again is a WARNING, said once with its reason: the pipeline's
    // ERROR lines before it read as a failed deployment under `journalctl -p err`.
    const said = lines.slice(from);
    expect(said.filter((l) => l.level === "error")).toEqual([]);
    expect(said.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({
        msg: "could not start this instruction now; trying again later",
        data: expect.objectContaining({ reason: expect.stringContaining(`download of ${url} failed`) }),
      }),
    ]);
    expect(await readFile(config.general.state_file, "utf8")).toBe(stateBefore);

    await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
    try {
      await hub.until("report d-away", () => reportFor("d-away") !== undefined);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    expect(reportFor("d-away")).toMatchObject({
      outcome: "succeeded",
      fromVersion: "2.0.0",
      toVersion: "3.5.0",
    });
    expect(await version()).toBe("3.5.0");
  });

  // The check got its answer, then the download broke off and the server went away: the pipeline's
  // "step fetch failed" at ERROR came before the daemon's "trying again later".
  it("a download that breaks off with the server going away is tried again later, without an ERROR", {
    timeout: 60_000,
  }, async () => {
    const file = await archive("3.6.0");
    const body = await readFile(file);
    const sha256 = createHash("sha256").update(body).digest("hex");
    let broken = true;
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-length": body.length });
      if (!broken) return void res.end(body);
      res.write(body.subarray(0, 10));
      // Away until the test brings it back: the resumes find nothing listening.
      server.close();
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;

    const url = `http://127.0.0.1:${port}/sample-3.6.0.tar.gz`;
    const from = lines.length;
    const stateBefore = await readFile(config.general.state_file, "utf8");
    hub.send(deploy("d-cut", await release("3.6.0", { type: "http", url, sha256 })));
    await poll("a retry", async () =>
      lines.slice(from).some((l) => l.msg.startsWith("could not start this instruction now")),
    );
    expect(reportFor("d-cut")).toBeUndefined();
    const said = lines.slice(from);
    expect(said.filter((l) => l.level === "error")).toEqual([]);
    expect(said).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "could not start this instruction now; trying again later",
        data: expect.objectContaining({ reason: expect.stringContaining(`download of ${url} failed`) }),
      }),
    );

    // An attempt that is tried again is no failure of the app: `ship --status` read "failed".
    expect(await readFile(config.general.state_file, "utf8")).toBe(stateBefore);

    broken = false;
    await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
    try {
      await hub.until("report d-cut", () => reportFor("d-cut") !== undefined);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    expect(reportFor("d-cut")).toMatchObject({ outcome: "succeeded", toVersion: "3.6.0" });
    expect(await version()).toBe("3.6.0");
  });

  it("an app another ship run holds is tried again later, without an ERROR", {
    timeout: 60_000,
  }, async () => {
    const file = await archive("3.7.0");
    const sha256 = await hub.serve("/files/sample-3.7.0.tar.gz", file);
    const held = await acquireAppLock(lockDir(config), appDir(), memoryLogger());
    const from = lines.length;
    try {
      hub.send(
        deploy(
          "d-locked",
          await release("3.7.0", { type: "http", url: `${hub.url}/files/sample-3.7.0.tar.gz`, sha256 }),
        ),
      );
      await poll("a retry", async () =>
        lines.slice(from).some((l) => l.msg.startsWith("could not start this instruction now")),
      );
    } finally {
      await held.release();
    }
    const said = lines.slice(from);
    expect(said.filter((l) => l.level === "error")).toEqual([]);
    await hub.until("report d-locked", () => reportFor("d-locked") !== undefined);
    expect(reportFor("d-locked")).toMatchObject({ outcome: "succeeded", toVersion: "3.7.0" });
  });

  it("carries out an unfinished instruction on start with no hub reachable, keeping its report for later", {
    timeout: 60_000,
  }, async () => {
    await daemon?.stop();
    const file = await archive("4.0.0");
    const sha256 = await hub.serve("/files/sample-4.0.0.tar.gz", file);
    // As if the agent stored the instruction and was killed before acting on it.
    await new DesiredStateStore(join(daemonDir(config), "desired.json")).put(
      deploy(
        "d-4",
        await release("4.0.0", { type: "http", url: `${hub.url}/files/sample-4.0.0.tar.gz`, sha256 }),
      ),
      new Date(),
    );
    const queued = (await outboxFiles()).length;
    await startDaemon("http://127.0.0.1:9"); // nothing listens there: the hub is away
    await poll("the report in the outbox", async () => (await outboxFiles()).length > queued);
    expect(await version()).toBe("4.0.0");
    const [name] = (await outboxFiles()).slice(-1);
    const stored = JSON.parse(await readFile(join(daemonDir(config), "outbox", name ?? ""), "utf8"));
    expect(stored).toMatchObject({ deploymentId: "d-4", outcome: "succeeded", toVersion: "4.0.0" });
  });

  it("gives up on an instruction the agent stopped in the middle of too often, and says so", {
    timeout: 60_000,
  }, async () => {
    await daemon?.stop();
    const store = new DesiredStateStore(join(daemonDir(config), "desired.json"));
    await store.put(
      deploy(
        "d-5",
        await release("4.0.0", { type: "http", url: `${hub.url}/files/none.tar.gz`, sha256: "c".repeat(64) }),
      ),
      new Date(),
    );
    // Three starts that never finished (each a crash mid-update in real life).
    for (let i = 0; i < 3; i++) await store.startAttempt(APP, "d-5");
    const queued = (await outboxFiles()).length;
    await startDaemon("http://127.0.0.1:9");
    await poll("the give-up report", async () => (await outboxFiles()).length > queued);
    const [name] = (await outboxFiles()).slice(-1);
    const stored = JSON.parse(await readFile(join(daemonDir(config), "outbox", name ?? ""), "utf8"));
    expect(stored).toMatchObject({ deploymentId: "d-5", outcome: "failed", fromVersion: "4.0.0" });
    expect(stored.error).toMatch(/stopped 3 times/);
  });
});
