/**
 * `backup: true` keeps the previous file as `<file>.bak` — but never over an operator's own file of
 * that name: the real CLI, a local source, three updates.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { writeTree } from "../apply/tree-fixtures.js";

let root: string;
let config: string;

async function useRelease(version: string, configToml: string): Promise<void> {
  const dir = join(root, `r${version}`);
  await writeTree(dir, {
    "config.toml": configToml,
    "update-manifest.yaml": `version: "${version}"\nfiles:\n  "config.toml": { action: merge_toml, backup: true }\n`,
  });
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
  );
}

const app = (rel: string) => readFile(join(root, "app", rel), "utf8");

describe("keep-copies (<file>.bak) of backup: true", () => {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-keep-copy-"));
    config = join(root, "ship.toml");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("ship rewrites its own keep-copy on every update", async () => {
    await useRelease("1.0.0", "[a]\nx = 1\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease("2.0.0", "[a]\nx = 2\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    expect(await app("config.toml.bak")).toBe("[a]\nx = 1\n");
    await useRelease("3.0.0", "[a]\nx = 3\n");
    const third = await runShip(["--config", config]);
    expect(third.code, third.stderr).toBe(0);
    expect(await app("config.toml.bak")).toBe("[a]\nx = 2\n");
    expect(third.stderr).not.toContain("ship did not write");
  });

  it("an operator's own <file>.bak is never written over: the previous version stays in the backup, and the log says so", async () => {
    await useRelease("1.0.0", "[a]\nx = 1\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    const mine = "[a]\nx = 1\n# operator: the original before my edit, keep!\n";
    await writeFile(join(root, "app/config.toml.bak"), mine);
    for (const version of ["2.0.0", "3.0.0"]) {
      await useRelease(version, `[a]\nx = ${version[0]}\n`);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain("kept the previous version in the backup only");
      expect(run.stderr).toContain("config.toml.bak");
      expect(await app("config.toml.bak")).toBe(mine);
    }
    expect(await app("config.toml")).toBe("[a]\nx = 3\n");
    // The previous version is in the backup: a rollback brings it back, and leaves the operator's file.
    const backups = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout) as {
      id: string;
      version: string;
    }[];
    const toV2 = backups.find((b) => b.version === "2.0.0");
    const rollback = await runShip(["--config", config, "--rollback", toV2?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await app("config.toml")).toBe("[a]\nx = 2\n");
    expect(await app("config.toml.bak")).toBe(mine);
  });
});
