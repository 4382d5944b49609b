/**
 * A hub rollback whose restore stops half-way (a file the restore must replace is immutable): the
 * hub heard restore_failed, but the daemon wrote nothing to the state file, so it kept the last
 * update's "updated" and the next hello announced the app as updated. It is recorded now as
 * `ship --rollback` records it.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHello } from "../../../agent/daemon/hello.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { rollbackFromBackupOnly } from "./backup-only-rollback.js";

describe("a hub rollback whose restore stops half-way", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-restore-failed-"));
  });
  afterAll(async () => {
    spawnSync("chattr", ["-i", join(root, "app", "b.txt")]);
    await rm(root, { recursive: true, force: true });
  });

  async function release(version: string, text: string): Promise<string> {
    const dir = join(root, "releases", version);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(dir, "app.txt"), text);
    await writeFile(join(dir, "b.txt"), text);
    return dir;
  }

  const configOf = (releaseDir: string) =>
    AgentConfig.parse({
      general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
      sources: { web: { type: "local", app_dir: join(root, "app"), path: releaseDir } },
    });

  it("records restore_failed in the state file, and the hello says it", async () => {
    await mkdir(join(root, "app"));
    const v2 = await release("2.0.0", "two\n");
    for (const dir of [await release("1.0.0", "one\n"), v2]) {
      const run = await runOnce(configOf(dir), { force: true, checkOnly: false, log: memoryLogger() });
      expect(run.exitCode).toBe(0);
    }
    if (spawnSync("chattr", ["+i", join(root, "app", "b.txt")]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    const result = await rollbackFromBackupOnly(configOf(v2), "web", "1.0.0");
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "restore_failed", fromVersion: "2.0.0" },
    });
    const error = result.kind === "report" ? result.report.error : undefined;
    const state = JSON.parse(await readFile(join(root, "state.json"), "utf8")) as {
      sources: Record<string, { current_version: string | null; last_result: string; last_error: string }>;
    };
    expect(state.sources.web).toMatchObject({ last_result: "restore_failed", last_error: error });
    const hello = await buildHello(configOf(v2), "agent-1", {});
    expect(hello.apps).toMatchObject([
      { app: "web", version: state.sources.web?.current_version, state: "restore_failed" },
    ]);

    // The hub asks again while the restore still waits for `ship --recover` (its journal): refused
    // before anything moves. That refusal wrote failed_unchanged over restore_failed, so the state,
    // the hello and the hub called a partly restored app merely failed.
    const again = await rollbackFromBackupOnly(configOf(v2), "web", "1.0.0");
    expect(again).toMatchObject({
      kind: "report",
      report: { outcome: "restore_failed", fromVersion: "2.0.0", toVersion: "2.0.0" },
    });
    const after = JSON.parse(await readFile(join(root, "state.json"), "utf8")) as typeof state;
    expect(after.sources.web).toMatchObject({ last_result: "restore_failed", last_error: error });
  });

  it("a rollback refused before anything moved reports failed, as the state records failed_unchanged", async () => {
    // The app directory made immutable: the restore's check refuses it before it moves a file. The
    // hub heard restore_failed (a person needed) while the state said failed_unchanged.
    const app = join(root, "app");
    spawnSync("chattr", ["-i", join(app, "b.txt")]);
    await rm(root, { recursive: true, force: true });
    await mkdir(app, { recursive: true });
    const v2 = await release("2.0.0", "two\n");
    for (const dir of [await release("1.0.0", "one\n"), v2]) {
      const run = await runOnce(configOf(dir), { force: true, checkOnly: false, log: memoryLogger() });
      expect(run.exitCode).toBe(0);
    }
    if (spawnSync("chattr", ["+i", app]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    try {
      const result = await rollbackFromBackupOnly(configOf(v2), "web", "1.0.0");
      expect(result).toMatchObject({
        kind: "report",
        report: { outcome: "failed", fromVersion: "2.0.0", toVersion: "1.0.0" },
      });
      const error = result.kind === "report" ? result.report.error : undefined;
      expect(error).toContain("nothing was changed");
      const state = JSON.parse(await readFile(join(root, "state.json"), "utf8")) as {
        sources: Record<string, { current_version: string | null; last_result: string; last_error: string }>;
      };
      expect(state.sources.web).toMatchObject({
        current_version: "2.0.0",
        last_result: "failed_unchanged",
        last_error: error,
      });
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe("two\n");
    } finally {
      spawnSync("chattr", ["-i", app]);
    }
  });
});
