/**
 * A hub rollback after the operator renamed the app's source in ship.toml (same app_dir, e.g. to
 * match the hub's app name): the newest backup was made under the old name. The daemon looked only
 * under the new name, so instead of the exact restore it deployed the older release again (which
 * fails once the hub no longer has its artifact), and left the consumed backup's trash behind; its
 * hello announced the app as not installed.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildHello } from "../../../agent/daemon/hello.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { rollbackFromBackupOnly } from "./backup-only-rollback.js";

describe("a hub rollback of a source renamed since its last update", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-renamed-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function release(version: string, text: string): Promise<string> {
    const dir = join(root, "releases", version);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(dir, "app.txt"), text);
    return dir;
  }

  const configOf = (name: string, releaseDir: string) =>
    AgentConfig.parse({
      general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
      sources: { [name]: { type: "local", app_dir: join(root, "app"), path: releaseDir } },
    });

  it("restores the backup made under the old name, and empties its trash", async () => {
    await mkdir(join(root, "app"));
    const v1 = await release("1.0.0", "one\n");
    const v2 = await release("2.0.0", "two\n");
    for (const dir of [v1, v2]) {
      const run = await runOnce(configOf("myapp", dir), {
        force: true,
        checkOnly: false,
        log: memoryLogger(),
      });
      expect(run.exitCode).toBe(0);
    }
    // [sources.myapp] is now [sources.web]: the hub is told what the app runs, not "nothing".
    const hello = await buildHello(configOf("web", v2), "agent-1", {});
    expect(hello.apps).toMatchObject([{ app: "web", version: "2.0.0" }]);
    const result = await rollbackFromBackupOnly(configOf("web", v2), "web", "1.0.0");
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded", toVersion: "1.0.0", steps: [{ name: "restore backup", ok: true }] },
    });
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(join(root, "backups", "myapp", ".trash"))).toBe(false);
  }, 60_000);
});
