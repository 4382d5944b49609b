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
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
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
