/**
 * `ship agent` gives up on an instruction it stopped in the middle of three times (a kill in each
 * download, say) and reports it failed to the hub; it sent no on_failure, since no attempt reached
 * the pipeline's end and the release was never staged. The hub's copy of the manifest says where
 * to send it, trusted as the release is: with `[trust]` keys only when a trusted key signed it.
 * Real daemon, a real HTTP webhook receiver, the desired state on disk as the killed runs left it.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rename, rm, symlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AgentDaemon, daemonDir } from "../../../agent/daemon/agent-daemon.js";
import { DesiredStateStore } from "../../../agent/daemon/desired-state.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import type { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Deploy, DeployRelease } from "../../../shared/protocol/messages.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { installedHost, startTestDaemon } from "./test-daemon.js";

describe("an instruction the agent gives up on", () => {
  let dir: string;
  let config: AgentConfig;
  let webhook: Server;
  let daemon: AgentDaemon | undefined;
  const bodies: Record<string, unknown>[] = [];
  const keys = generateKeyPairSync("ed25519");
  const trust = {
    keys: [keys.publicKey.export({ type: "spki", format: "pem" }).toString()],
    key_files: [],
    allow_downgrade: false,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-given-up-"));
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => webhook.listen(0, "127.0.0.1", ok));
    // The hub is away: the report waits in the outbox, the notification does not wait for it.
    config = await installedHost(dir, "http://127.0.0.1:9");
  }, 60_000);

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  afterAll(async () => {
    webhook?.closeAllConnections();
    await new Promise((ok) => webhook?.close(ok));
    await rm(dir, { recursive: true, force: true });
  });

  /** Release `version` whose manifest's on_failure calls the webhook; `signed` by the trusted key. */
  async function release(version: string, signed: "signed" | "unsigned"): Promise<DeployRelease> {
    const tree = join(dir, "releases", version);
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook/${version}`;
    await writeRelease(tree, { version, notifications: { on_failure: [{ type: "webhook", url }] } });
    const manifest = await readFile(join(tree, "update-manifest.yaml"), "utf8");
    const artifactSha256 = "a".repeat(64);
    const payload = {
      app: APP,
      version,
      artifactSha256,
      manifestSha256: createHash("sha256").update(manifest).digest("hex"),
    };
    const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
      id: `r-${version}`,
      app: APP,
      version,
      manifest,
      // Never fetched: each killed attempt got no further than the download.
      source: { type: "http", url: "http://127.0.0.1:9/none.tar.gz", sha256: artifactSha256 },
      ...(signed === "signed" ? { signature: JSON.stringify(signRelease(payload, privatePem)) } : {}),
    };
  }

  /** The instruction as three killed attempts left it on disk, then the agent started again. */
  async function giveUp(
    deploymentId: string,
    r: DeployRelease,
    withTrust: boolean,
    lines: { level: string; msg: string }[],
    { rollback = false, killed = 3 } = {},
  ) {
    const store = new DesiredStateStore(join(daemonDir(config), "desired.json"));
    const instruction: Deploy = { type: "deploy", v: 1, deploymentId, app: APP, release: r, rollback };
    await store.put(instruction, new Date());
    for (let i = 0; i < killed; i++) await store.startAttempt(APP, deploymentId);
    daemon = await startTestDaemon(withTrust ? { ...config, trust } : config, memoryLogger(lines));
  }

  /** This app's record in the state file, as the hello and `ship --check-only` read it. */
  async function recorded(): Promise<Record<string, unknown> | undefined> {
    const state = JSON.parse(await readFile(config.general.state_file, "utf8")) as {
      sources: Record<string, Record<string, unknown>>;
    };
    return state.sources[APP];
  }

  async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }

  it("sends the hub manifest's on_failure, saying the agent gave up", async () => {
    await giveUp("d-plain", await release("2.0.0", "unsigned"), false, []);
    await until("the on_failure webhook", () => bodies.some((b) => b.version === "2.0.0"));
    expect(bodies.find((b) => b.version === "2.0.0")).toMatchObject({
      app: APP,
      status: "failure",
      error: expect.stringMatching(/stopped 3 times while carrying this out; not trying again/),
    });
    // The state says so too (the hello reads it): it kept the last run's "updated", no error.
    expect(await recorded()).toMatchObject({
      last_result: "failed_unchanged",
      last_error: expect.stringMatching(/stopped 3 times while carrying this out; not trying again/),
    });
  });

  it("with [trust] keys, sends it when a trusted key signed the manifest", async () => {
    await giveUp("d-signed", await release("3.0.0", "signed"), true, []);
    await until("the on_failure webhook", () => bodies.some((b) => b.version === "3.0.0"));
    expect(bodies.find((b) => b.version === "3.0.0")).toMatchObject({ status: "failure" });
  });

  it("with [trust] keys, sends nothing from a manifest no trusted key signed, and warns", async () => {
    const lines: { level: string; msg: string }[] = [];
    const signed = await release("4.0.0", "signed");
    // A hub that rewrote the manifest (another webhook, say) keeps the signature it was given.
    const tampered = { ...signed, manifest: `${signed.manifest}\n# rewritten by the hub\n` };
    await giveUp("d-tampered", tampered, true, lines);
    await until("the warning", () => lines.some((l) => /on_failure not sent/.test(l.msg)));
    expect(lines.find((l) => /on_failure not sent/.test(l.msg))?.msg).toMatch(
      /the hub's copy of sample 4\.0\.0's manifest is not trusted: .*manifest digest/,
    );
    await new Promise((ok) => setTimeout(ok, 300));
    expect(bodies.some((b) => b.version === "4.0.0")).toBe(false);
  });

  it("sends it too when the instruction broke on something unexpected", { timeout: 60_000 }, async () => {
    // 2.0.0 installed, then a hub rollback to 1.0.0 while backup_dir cannot be listed (a symlink
    // loop): the daemon's look for the backup throws, past the pipeline that would notify.
    const v2 = join(dir, "releases", "2.0.0");
    const source = { ...config.sources[APP], path: v2 } as AgentConfig["sources"][string];
    const installed = await runOnce(
      { ...config, sources: { [APP]: source } },
      { force: true, checkOnly: false, log: memoryLogger() },
    );
    expect(installed.exitCode).toBe(0);
    const backups = config.general.backup_dir;
    await rename(backups, join(dir, "held-backups"));
    await symlink(backups, backups);
    await giveUp("d-broken", await release("1.0.0", "unsigned"), false, [], { rollback: true, killed: 0 });
    await until("the on_failure webhook", () => bodies.some((b) => b.version === "1.0.0"));
    expect(bodies.find((b) => b.version === "1.0.0")).toMatchObject({
      status: "failure",
      error: expect.stringMatching(/the agent could not carry this out: backup_dir .* cannot be listed/),
    });
    expect(await recorded()).toMatchObject({
      last_result: "failed_unchanged",
      last_error: expect.stringMatching(/the agent could not carry this out: backup_dir .* cannot be listed/),
    });
  });

  it("a hub rollback refused before the pipeline is recorded in the state too", async () => {
    // No backup or state entry names 0.5.0: refused, nothing changed, as `ship --rollback` records it.
    await giveUp("d-refused", await release("0.5.0", "unsigned"), false, [], { rollback: true, killed: 0 });
    let last: Record<string, unknown> | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      last = await recorded();
      if (last?.last_result === "failed_unchanged" && String(last.last_error).includes("0.5.0")) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(last).toMatchObject({
      last_result: "failed_unchanged",
      last_error: expect.stringMatching(
        /refused the hub's rollback of sample to 0\.5\.0: this host never ran 0\.5\.0/,
      ),
    });
  });
});
