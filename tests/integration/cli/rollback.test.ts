/**
 * `ship --rollback` and what ship says around it, as an operator sees it: real `ship` processes on a
 * local source, the Capistrano layout (a shared directory linked into the app), state afterwards.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { snapshot, writeTree } from "../apply/tree-fixtures.js";

let root: string;
let config: string;

async function release(name: string, version: string, files: Record<string, string>, extra = "") {
  const dir = join(root, name);
  await writeTree(dir, { ...files, "update-manifest.yaml": `version: "${version}"\n${extra}` });
  return dir;
}

async function useRelease(dir: string): Promise<void> {
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
  );
}

async function backups(): Promise<{ id: string; version: string | null }[]> {
  const listed = await runShip(["--config", config, "--list-backups", "--json"]);
  return JSON.parse(listed.stdout);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-rollback-cli-"));
  config = join(root, "ship.toml");
  await mkdir(join(root, "app"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("ship --rollback (real CLI)", () => {
  it("the Capistrano layout: rolling back to the first backup leaves the shared directory byte for byte", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "storage/.gitkeep": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);

    // The operator moves storage/ to a shared directory with their own files and links it in.
    const shared = join(root, "shared/storage");
    await writeTree(shared, { ".gitkeep": "operator's\n", "uploads/photo.jpg": "jpeg bytes\n" });
    await rm(join(root, "app/storage"), { recursive: true });
    await symlink(shared, join(root, "app/storage"));
    const sharedBefore = await snapshot(shared);

    // An update through the link is refused before anything changes, and says so.
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "storage/.gitkeep": "v2\n" }));
    const refused = await runShip(["--config", config]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("the app's files were not changed");
    expect(refused.stdout).not.toContain("restored");
    expect(refused.stdout).not.toContain("myapp: myapp:");
    expect(await snapshot(shared)).toEqual(sharedBefore);

    const first = (await backups()).at(-1);
    expect(first?.version).toBeNull();
    const rollback = await runShip(["--config", config, "--rollback", first?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await snapshot(shared)).toEqual(sharedBefore);
    expect(await readFile(join(shared, ".gitkeep"), "utf8")).toBe("operator's\n");
    expect(rollback.stdout).toContain("storage/.gitkeep");
  });

  it("--check-only calls a source that could not be checked failed, never current", async () => {
    await useRelease(join(root, "no-such-release"));
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code).not.toBe(0);
    expect(check.stdout).toMatch(/^failed +myapp: /m);
    expect(check.stdout).not.toContain("current");
    expect(check.stdout).not.toContain("myapp: myapp:");
  });
});
