/**
 * review35: README "backup_dir/<source>": a symlink to a directory at a source's place is followed,
 * and "inside a source's directory, a symlink ... is refused ...: ship consumes and prunes a backup by
 * moving it, which would move only the link". A source's place linked INTO another source's backup
 * (`backups/api -> web/web-2026…Z`, a directory, so accepted) makes api's backups live inside one of
 * web's backups: web's keep_backups prunes that backup and api's backups go with it, unsaid, and the
 * link then dangles, so every later run of every source is exit 2.
 * Expected: refused up front (exit 2 naming backups/api, as a link inside a source's directory is),
 * or at least web's pruning never deletes api's backups.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
let config: string;

async function release(name: string, version: string): Promise<void> {
  await mkdir(join(root, name), { recursive: true });
  await writeFile(
    join(root, name, "update-manifest.yaml"),
    `version: "${version}"\nfiles:\n  "*.txt":\n    action: replace\nrollback:\n  keep_backups: 1\n`,
  );
  await writeFile(join(root, name, "a.txt"), `${name} ${version}\n`);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-link-into-backup-"));
  config = join(root, "ship.toml");
  await mkdir(join(root, "web-app"));
  await mkdir(join(root, "api-app"));
  await release("web-rel", "1.0.0");
  await release("api-rel", "1.0.0");
  await writeFile(
    config,
    [
      "[general]",
      `state_file = "${root}/var/state.json"`,
      `backup_dir = "${root}/var/backups"`,
      "min_interval_hours = 0",
      "[sources.web]",
      'type = "local"',
      `path = "${root}/web-rel"`,
      `app_dir = "${root}/web-app"`,
      "[sources.api]",
      'type = "local"',
      `path = "${root}/api-rel"`,
      `app_dir = "${root}/api-app"`,
      "",
    ].join("\n"),
  );
});
afterEach(() => rm(root, { recursive: true, force: true }));

it("api's backups linked into one of web's backups are not pruned away by web", async () => {
  const first = await runShip(["--config", config, "--sources", "web"]);
  expect(first.code, first.stderr).toBe(0);
  const webBackups = join(root, "var", "backups", "web");
  const [webId] = (await readdir(webBackups)).filter((n) => n.startsWith("web-"));
  await symlink(join("web", webId ?? ""), join(root, "var", "backups", "api"));

  const api = await runShip(["--config", config, "--sources", "api"]);
  if (api.code === 2) return; // refused up front: what the test asks for
  expect(api.code, api.stderr).toBe(0);
  const before = await runShip(["--config", config, "--list-backups", "--json"]);
  const apiBackups = (JSON.parse(before.stdout) as { app: string }[]).filter((b) => b.app === "api");
  expect(apiBackups).toHaveLength(1);

  // web updates twice: keep_backups 1 prunes web's first backup.
  for (const v of ["1.1.0", "1.2.0"]) {
    await release("web-rel", v);
    await runShip(["--config", config, "--sources", "web"]);
  }
  const after = await runShip(["--config", config, "--list-backups", "--json"]);
  expect(after.code, after.stdout + after.stderr).toBe(0);
  expect((JSON.parse(after.stdout) as { app: string }[]).filter((b) => b.app === "api")).toHaveLength(1);
});

/**
 * fixbackup: the kind. A source's place, where its links lead (a chain, relative targets), must not
 * be inside another place or its backups, be backup_dir or hold it, or hold another place: each is
 * refused up front (exit 2, one line naming backup_dir/<source>), the hooks unrun, nothing changed.
 */
describe("a configured source's place linked where another place's backups are", () => {
  /** web installed once (one backup), then `place` made at backups/api by `link`. */
  async function webOnce(): Promise<{ backups: string; webId: string }> {
    const first = await runShip(["--config", config, "--sources", "web"]);
    expect(first.code, first.stderr).toBe(0);
    const backups = join(root, "var", "backups");
    const [webId] = (await readdir(join(backups, "web"))).filter((n) => n.startsWith("web-"));
    return { backups, webId: webId ?? "" };
  }

  async function refusedUnchanged(backups: string, what: RegExp): Promise<void> {
    const state = await readFile(join(root, "var", "state.json"), "utf8");
    const listing = await readdir(join(backups, "web"));
    for (const args of [
      ["--sources", "api"],
      ["--sources", "web"],
      ["--list-backups"],
      ["--rollback", "x"],
    ]) {
      const run = await runShip(["--config", config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
      const lines = run.stderr.trim().split("\n");
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${join(backups, "api")}`);
      expect(lines[0]).toMatch(what);
    }
    expect(await readFile(join(root, "api-app", "a.txt"), "utf8").catch(() => "none")).toBe("none");
    expect(await readFile(join(root, "var", "state.json"), "utf8")).toBe(state);
    expect(await readdir(join(backups, "web"))).toEqual(listing);
  }

  it("inside one of web's backups (relative target): refused, naming it", async () => {
    const { backups, webId } = await webOnce();
    await symlink(join("web", webId), join(backups, "api"));
    await refusedUnchanged(backups, /inside .*backups\/web\b/);
  });

  it("inside web's place, through a chain of links from outside backup_dir", async () => {
    const { backups } = await webOnce();
    await mkdir(join(backups, "web", "extra"));
    await symlink("var/backups/web/extra", join(root, "hop1"));
    await symlink(join(root, "hop1"), join(root, "hop2"));
    await symlink("../../hop2", join(backups, "api"));
    await refusedUnchanged(backups, /inside .*backups\/web\b/);
  });

  it("backup_dir itself, or a directory holding it", async () => {
    const { backups } = await webOnce();
    await symlink(".", join(backups, "api"));
    await refusedUnchanged(backups, /backup_dir itself/);
    await rm(join(backups, "api"));
    await symlink("../..", join(backups, "api"));
    await refusedUnchanged(backups, /holds backup_dir/);
  });

  it("a directory holding web's place (web's backups moved to another disk)", async () => {
    const { backups } = await webOnce();
    const disk = join(root, "disk2");
    await mkdir(disk);
    await rename(join(backups, "web"), join(disk, "web"));
    await symlink(join(disk, "web"), join(backups, "web"));
    await symlink(disk, join(backups, "api"));
    await refusedUnchanged(backups, /holds .*backups\/web \(→ .*disk2\/web\)/);
  });

  it("the same directory as web's place is not refused: both update and list", async () => {
    const { backups } = await webOnce();
    await symlink("web", join(backups, "api"));
    const api = await runShip(["--config", config, "--sources", "api"]);
    expect(api.code, api.stderr).toBe(0);
    const list = await runShip(["--config", config, "--list-backups", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const apps = (JSON.parse(list.stdout) as { app: string }[]).map((b) => b.app).sort();
    expect(apps).toEqual(["api", "web"]);
  });

  it("at a name no source has, such a link is skipped: updates run", async () => {
    const { backups, webId } = await webOnce();
    await symlink(join("web", webId), join(backups, "old"));
    await symlink("..", join(backups, "older"));
    const api = await runShip(["--config", config, "--sources", "api"]);
    expect(api.code, api.stderr).toBe(0);
    const list = await runShip(["--config", config, "--list-backups", "--json"]);
    expect(list.code, list.stderr).toBe(0);
  });
});
