/**
 * A stolen hub cannot downgrade a host through a rollback. Real `ship-hub serve` and a real
 * `ship agent` with `[trust]` keys; every release is signed by CI. The attacker owns the hub's
 * database and points a finished rollout's rollback target at an older signed release the host
 * never ran (1.5.0, "known vulnerable"): the agent refuses it and stays on what it runs. The
 * operator's own `ship-hub rollout abort --rollback` still takes the host back to the release it
 * ran before, also when no backup can restore it and the older release must be downloaded again.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, publishWithShipRelease } from "../../e2e/fleet.js";
import { runShip } from "../../support/ship-cli.js";

const execFileAsync = promisify(execFile);

describe("a rollback goes back only to a release the host ran (real hub and agent, signed releases)", () => {
  let keys: string;
  let fleet: Fleet;
  const release = new Map<string, string>();

  beforeAll(async () => {
    keys = await mkdtemp(join(tmpdir(), "ship-rollback-keys-"));
    expect((await runShip(["release", "keygen", "--out", keys])).code).toBe(0);
    fleet = await Fleet.start({ agents: 1, trustKeyFiles: [join(keys, "ship-release.pub")] });
    for (const version of ["1.0.0", "1.5.0", "2.0.0", "3.0.0"])
      release.set(version, (await publishWithShipRelease(fleet, version, join(keys, "ship-release.key"))).id);
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
    if (keys !== undefined) await rm(keys, { recursive: true, force: true });
  });

  const idOf = (version: string) => release.get(version) ?? "";
  /** The attacker's edit: the host "ran" `version` before `rollout`, as far as the hub now says. */
  function claimRanBefore(rollout: string, version: string): void {
    const db = new Database(join(fleet.dir, "hub-data", "hub.db"));
    try {
      db.prepare("UPDATE deployments SET previous_release = ? WHERE rollout_id = ?").run(
        idOf(version),
        rollout,
      );
    } finally {
      db.close();
    }
  }
  const deployment = async (rolloutId: string) => (await fleet.rollout(rolloutId)).waves[0]?.agents[0];
  async function rollOut(version: string): Promise<string> {
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: idOf(version),
      waves: [{ name: "all", agents: ["agent-1"] }],
    });
    await fleet.waitFor(`${version} installed`, async () => (await fleet.rollout(id)).state === "completed");
    expect(await fleet.appVersion(0)).toBe(version);
    return id;
  }
  /** `ship-hub rollout abort ID --rollback`, as the operator types it; waits for the agent's answer. */
  async function abortWithRollback(rolloutId: string) {
    await execFileAsync(
      process.execPath,
      [resolve("dist/hub/cli/main.js"), "rollout", "abort", rolloutId, "--rollback", "--hub", fleet.hubUrl],
      {
        env: { ...process.env, SHIP_HUB_TOKEN: fleet.operator },
      },
    );
    await fleet.waitFor("the rollback answered", async () => {
      const state = (await deployment(rolloutId))?.state;
      return state !== undefined && !["rollback_pending", "sent", "in_progress"].includes(state);
    });
    return deployment(rolloutId);
  }

  it("refuses a rollback to an older signed release it never ran, and stays on its release", {
    timeout: 180_000,
  }, async () => {
    const rollout = await rollOut("2.0.0");
    claimRanBefore(rollout, "1.5.0");
    const refused = await abortWithRollback(rollout);
    expect(refused?.state).toBe("failed");
    expect(refused?.error ?? "").toMatch(/never ran 1\.5\.0 before 2\.0\.0/);
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });

  it("abort --rollback still takes the host back to the release it ran before, downloaded when no backup holds it", {
    timeout: 180_000,
  }, async () => {
    const rollout = await rollOut("3.0.0");
    // No backup brings 2.0.0 back: the rollback is a download of the hub's 2.0.0, a downgrade.
    await rm(join(fleet.agent(0).root, "state", "backups"), { recursive: true, force: true });
    const back = await abortWithRollback(rollout);
    expect(back?.state, back?.error ?? "").toBe("rolled_back");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });

  it("says the backups could not be read, naming backup_dir and why, when that is why the version is unknown", {
    timeout: 180_000,
  }, async () => {
    const rollout = await rollOut("3.0.0");
    claimRanBefore(rollout, "1.5.0");
    // backup_dir is a file (a botched mount, a disk put back wrong): nothing in it can be listed.
    const backups = join(fleet.agent(0).root, "state", "backups");
    await rm(backups, { recursive: true, force: true });
    await writeFile(backups, "");
    try {
      const refused = await abortWithRollback(rollout);
      expect(refused?.state).toBe("failed");
      const error = refused?.error ?? "";
      expect(error).toMatch(/never ran 1\.5\.0 before 3\.0\.0/);
      // Not "none recorded" alone: the operator learns the records were unreadable, and where.
      expect(error).toContain(`its backups could not be read`);
      expect(error).toContain(`backup_dir ${backups}: ENOTDIR`);
      expect(await fleet.appVersion(0)).toBe("3.0.0");
    } finally {
      await rm(backups, { force: true });
    }
  });
});
