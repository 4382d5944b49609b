/**
 * A hub rollback on a host whose backup_dir cannot be listed (here a symlink loop; a permission
 * is the same error): the daemon's look for the backup that undoes the installed version met
 * Node's bare "ELOOP: too many symbolic links encountered, scandir …". It now fails with the one
 * line every command gives (backup_dir, the directory, what is wrong), and changes nothing; the
 * daemon reports that line to the hub ("the agent could not carry this out: …").
 */
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BackupDirUnlistableError } from "../../../agent/backup/backup-dirs.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { snapshot } from "../apply/tree-fixtures.js";
import { rollbackFromBackupOnly } from "./backup-only-rollback.js";

describe("a hub rollback when backup_dir cannot be listed", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-unlistable-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const configOf = (releaseDir: string) =>
    AgentConfig.parse({
      general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
      sources: { web: { type: "local", app_dir: join(root, "app"), path: releaseDir } },
    });

  it("fails with the one line naming backup_dir, the app as it was", async () => {
    await mkdir(join(root, "app"));
    for (const version of ["1.0.0", "2.0.0"]) {
      const dir = join(root, "releases", version);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
      await writeFile(join(dir, "app.txt"), `${version}\n`);
      const run = await runOnce(configOf(dir), { force: true, checkOnly: false, log: memoryLogger() });
      expect(run.exitCode).toBe(0);
    }
    const backups = join(root, "backups");
    await rename(backups, join(root, "held"));
    await symlink(backups, backups);
    const before = await snapshot(root);
    const failed = await rollbackFromBackupOnly(
      configOf(join(root, "releases", "2.0.0")),
      "web",
      "1.0.0",
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(BackupDirUnlistableError);
    expect(String((failed as Error).message)).toMatch(
      new RegExp(`^backup_dir ${backups} cannot be listed: ELOOP: [^\\n]*$`),
    );
    expect(await snapshot(root)).toEqual(before);
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("2.0.0\n");
  });
});
