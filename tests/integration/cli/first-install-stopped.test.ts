/**
 * A first install into an app_dir that does not exist yet: ship makes it (and its missing parents)
 * before the conditionals, which run in it. When the update then stops on purpose or fails before
 * anything stays installed, "the app's files were not changed" must hold on disk too: the empty
 * directories ship made go again. What a hook wrote there is never removed.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { runShip } from "../../support/ship-cli.js";

describe("a first install that installs nothing", () => {
  let root: string;
  let config: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-first-stopped-"));
    config = join(root, "ship.toml");
    await mkdir(join(root, "release"));
    await writeFile(join(root, "release/app.txt"), "one\n");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/srv/deep/app"\n`,
    );
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const manifest = (lines: string[]) =>
    writeFile(join(root, "release/update-manifest.yaml"), ['version: "1.0.0"', ...lines, ""].join("\n"));

  it.each([
    {
      why: "a skip_update condition",
      lines: [
        "conditionals:",
        "  - condition: \"command('true')\"",
        "    action: skip_update",
        "    message: not yet",
      ],
      code: 0,
      says: "update skipped on purpose: not yet",
    },
    {
      why: "a manual-intervention condition",
      lines: [
        "conditionals:",
        "  - condition: \"command('true')\"",
        "    action: require_manual_intervention",
        "    message: call the DBA",
      ],
      code: 0,
      says: "manual intervention required",
    },
    {
      why: "a failing pre_update hook",
      lines: ["hooks:", "  pre_update:", '    - "false"'],
      code: 1,
      says: "the app's files were not changed",
    },
    {
      why: "a failing post_update test (the install was removed)",
      lines: ["post_update_tests:", '  - { name: health, command: "false" }'],
      code: 1,
      says: "no earlier version was recorded",
    },
  ])("leaves no app_dir behind after $why", async ({ lines, code, says }) => {
    await manifest(lines);
    const run = await runShip(["--config", config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(code);
    expect(run.stdout).toContain(says);
    expect(await readdir(root)).not.toContain("srv");
  });

  it("keeps what a hook wrote there, and the directories holding it", async () => {
    await manifest(["hooks:", "  pre_update:", '    - "touch hook-was-here; false"']);
    const run = await runShip(["--config", config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await readdir(join(root, "srv/deep/app"))).toEqual(["hook-was-here"]);
  });

  it("leaves an app_dir that was already there, empty", async () => {
    await mkdir(join(root, "srv/deep/app"), { recursive: true });
    await manifest(["hooks:", "  pre_update:", '    - "false"']);
    const run = await runShip(["--config", config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await pathExists(join(root, "srv/deep/app"))).toBe(true);
  });
});
