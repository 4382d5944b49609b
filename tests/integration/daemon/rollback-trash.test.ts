/**
 * The daemon frees what a hub rollback took out of the app itself, in-process (no later run of a hub
 * app may come for weeks): even past FREED_BY_NEXT_RUN entries it starts no detached `rm` as well,
 * which would race that removal over the same trash.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FREED_BY_NEXT_RUN } from "../../../agent/backup/trash.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { hubRollbackToFirst } from "../../support/hub-rollback.js";

describe("a hub rollback that took out more than FREED_BY_NEXT_RUN entries", () => {
  let root: string;
  let path: string | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-trash-"));
    path = process.env.PATH;
  });
  afterEach(async () => {
    process.env.PATH = path;
    await rm(root, { recursive: true, force: true });
  });

  async function release(version: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, "releases", version);
    await mkdir(join(dir, "bulk"), { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
    for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text);
    return dir;
  }

  it("is emptied in-process only: no rm is started, and the trash is gone when the report is made", async () => {
    const configOf = (releaseDir: string) =>
      AgentConfig.parse({
        general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
        sources: { myapp: { type: "local", app_dir: join(root, "app"), path: releaseDir } },
      });
    await mkdir(join(root, "app"));
    const v1 = await release("1.0.0", { "app.txt": "one\n" });
    expect(
      (await runOnce(configOf(v1), { force: true, checkOnly: false, log: memoryLogger() })).exitCode,
    ).toBe(0);
    const many: Record<string, string> = { "app.txt": "two\n" };
    for (let i = 0; i <= FREED_BY_NEXT_RUN; i++) many[`bulk/f${i}.txt`] = `${i}\n`;
    const v2 = await release("2.0.0", many);
    const config = configOf(v2);
    expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);

    // An rm first on PATH that leaves a mark if anything runs it.
    const bin = join(root, "bin");
    const ran = join(root, "rm-ran");
    await mkdir(bin);
    await writeFile(join(bin, "rm"), `#!/bin/sh\necho "$@" >> '${ran}'\nexec /bin/rm "$@"\n`, {
      mode: 0o755,
    });
    process.env.PATH = `${bin}:${path}`;
    const result = await hubRollbackToFirst(config);
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded", toVersion: "1.0.0", steps: [{ name: "restore backup", ok: true }] },
    });
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(join(root, "app", "bulk", "f0.txt"))).toBe(false);
    expect(await pathExists(join(root, "backups", "myapp", ".trash"))).toBe(false);
    // A detached rm would have run by now or soon: give it the time it would take to start.
    await new Promise((ok) => setTimeout(ok, 500));
    expect(await pathExists(ran)).toBe(false);
  }, 60_000);
});
