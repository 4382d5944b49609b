/**
 * Releases signed in CI, end to end: `ship release http|keygen|sign|publish` against a real hub
 * process, agents with [trust] keys as real processes. A signed release is installed; an unsigned
 * one is refused by the agent itself — the hub takes it and pushes it — and the app stays on what
 * it had. A signature of another release is refused by the hub already.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../support/ship-cli.js";
import { APP, Fleet, publishWithShipRelease } from "./fleet.js";

describe("signed releases from CI through a real hub to agents with [trust] keys", () => {
  let keys: string;
  let fleet: Fleet;

  beforeAll(async () => {
    keys = await mkdtemp(join(tmpdir(), "ship-e2e-keys-"));
    expect((await runShip(["release", "keygen", "--out", keys])).code).toBe(0);
    fleet = await Fleet.start({ agents: 2, trustKeyFiles: [join(keys, "ship-release.pub")] });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    await rm(keys, { recursive: true, force: true });
  });

  /** CI: build the archive, sign it (or not), publish it with `ship release publish`. */
  const ciRelease = (version: string, sign: boolean) =>
    publishWithShipRelease(fleet, version, sign ? join(keys, "ship-release.key") : undefined);

  async function rollOut(release: string): Promise<string> {
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "both", agents: ["agent-1", "agent-2"] }],
      failureThreshold: { percent: 100 },
    });
    return id;
  }

  async function finished(
    rolloutId: string,
  ): Promise<{ agentId: string; state: string; error: string | null }[]> {
    let agents: { agentId: string; state: string; error: string | null }[] = [];
    await fleet.waitFor("both agents finished", async () => {
      agents = (await fleet.rollout(rolloutId)).waves[0]?.agents ?? [];
      return (
        agents.length === 2 && agents.every((a) => !["pending", "sent", "in_progress"].includes(a.state))
      );
    });
    return agents;
  }

  it("installs a signed release and refuses unsigned or mis-signed ones, leaving the app as it was", {
    timeout: 150_000,
  }, async () => {
    const v2 = await ciRelease("2.0.0", true);
    const ok = await finished(await rollOut(v2.id));
    expect(ok.map((a) => a.state)).toEqual(["succeeded", "succeeded"]);
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    expect(await fleet.appVersion(1)).toBe("2.0.0");

    // Unsigned: the hub takes it (it is not the hub's call), the agents refuse it.
    const unsigned = await ciRelease("3.0.0", false);
    const refusedRollout = await rollOut(unsigned.id);
    const refused = await finished(refusedRollout);
    for (const agent of refused) {
      expect(agent.state).toBe("failed");
      expect(agent.error ?? "").toMatch(/sign/i);
    }
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    const config = await readFile(join(fleet.agent(0).appDir, "config.toml"), "utf8");
    expect(config).toContain('name = "host-agent-1"');
    // Failures halt the rollout; the operator ends it before the next one.
    await fleet.api("POST", `/rollouts/${refusedRollout}/abort`, {});

    // CI (or anyone with its token) attaches 2.0.0's valid signature to another release: the hub
    // refuses it, naming the field and what differs. A compromised hub that sends such a release
    // anyway is refused by the agents themselves (hub-release-source.test.ts, stolen-hub.test.ts).
    const v4 = await ciRelease("4.0.0", false);
    const manifest = await readFile(join(fleet.dir, "ci", "4.0.0", "update-manifest.yaml"), "utf8");
    const borrowed = await readFile(`${v2.archive}.sig`, "utf8");
    const sha256 = (await fleet.api<{ source: { sha256: string } }>("GET", `/releases/${v4.id}`)).source
      .sha256;
    const forged = fleet.api(
      "POST",
      "/releases",
      {
        app: APP,
        version: "4.0.1",
        manifest: manifest.replace("4.0.0", "4.0.1"),
        source: { type: "hub", sha256 },
        signature: borrowed.trim(),
      },
      fleet.ci,
    );
    await expect(forged).rejects.toThrow(
      /: 400 .*body\.signature: version mismatch: the signature is for version 2\.0\.0, not 4\.0\.1/,
    );
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    expect(await fleet.appVersion(1)).toBe("2.0.0");
  });
});
