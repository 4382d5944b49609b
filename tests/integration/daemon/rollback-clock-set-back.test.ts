/**
 * A hub rollback after the host's clock was set back (a VM restored from a snapshot, an RTC wrong
 * until NTP corrected it): the backup made while the clock ran ahead sorts as the newest. The daemon
 * took the newest by date, found it did not undo what is installed, and instead of the exact restore
 * downloaded the older release again, which fails once the hub no longer has its artifact.
 * `ship --rollback` follows the updates' order since round 18 (rollback-clock-set-back in apply/).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listBackups } from "../../../agent/backup/backup-store.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { rollbackFromBackupOnly } from "./backup-only-rollback.js";

describe("a hub rollback with a backup dated ahead of the clock", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-clock-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function release(version: string): Promise<string> {
    const dir = join(root, "releases", version);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(dir, "app.txt"), `${version}\n`);
    return dir;
  }

  const configOf = (releaseDir: string) =>
    AgentConfig.parse({
      general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
      sources: { web: { type: "local", app_dir: join(root, "app"), path: releaseDir } },
    });

  it("restores the backup that undoes the installed version, not the one dated newest", async () => {
    await mkdir(join(root, "app"));
    for (const version of ["1.0.0", "2.0.0", "3.0.0"]) {
      const run = await runOnce(configOf(await release(version)), {
        force: true,
        checkOnly: false,
        log: memoryLogger(),
      });
      expect(run.exitCode).toBe(0);
      if (version !== "2.0.0") continue;
      // The backup of the 1.0.0 → 2.0.0 update, made while the clock ran an hour ahead.
      const [backup] = await listBackups(join(root, "backups"), "web");
      const metaFile = join(String(backup?.path), "meta.json");
      const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
      const ahead = new Date(Date.now() + 3_600_000).toISOString();
      await writeFile(metaFile, JSON.stringify({ ...meta, created: ahead }));
    }
    const result = await rollbackFromBackupOnly(configOf(join(root, "releases", "3.0.0")), "web", "2.0.0");
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded", toVersion: "2.0.0", steps: [{ name: "restore backup", ok: true }] },
    });
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("2.0.0\n");
  }, 60_000);
});
