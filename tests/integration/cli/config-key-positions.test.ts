/**
 * A config error found after the file loaded (paths on disk, one key against another) carries the
 * key's line:column as a parse error does: ship.toml's backup_dir inside an
 * app_dir, a state_file that is a directory, two sources filling one app_dir; hub.toml's schema
 * errors, a data_dir that is a file, a missing jwt_secret_file. They used to name the file and key
 * only.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { runShip } from "../../support/ship-cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-key-positions-"));
  await mkdir(join(dir, "app"));
  await mkdir(join(dir, "release"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ship.toml checks made after the load", () => {
  const source = (name: string) =>
    `[sources.${name}]\ntype = "local"\npath = "${dir}/release"\napp_dir = "${dir}/app"\n`;

  it("a per-app symlink inside backup_dir that leads into the app is refused too", async () => {
    // The check looked at backup_dir alone: backups were then written inside the app they undo.
    const config = join(dir, "ship.toml");
    await mkdir(join(dir, "backups"));
    await mkdir(join(dir, "app/bk"));
    await symlink(join(dir, "app/bk"), join(dir, "backups/one"));
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/state.json"\nbackup_dir = "${dir}/backups"\n\n${source("one")}`,
    );
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship: ${config}:3:1 general.backup_dir: ${dir}/backups/one (→ ${dir}/app/bk) is inside sources.one.app_dir (${dir}/app): ship writes that app's backups there, and a release could overwrite them; make it a directory outside the app`,
    );
    expect(await readdir(join(dir, "app/bk"))).toEqual([]);
  });

  it("name the line and column of the key, still on one line", async () => {
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `# ship\n[general]\nstate_file = "${dir}/state.json"\nbackup_dir = "${dir}/app/backups"\n\n${source("one")}${source("two")}`,
    );
    const run = await runShip(["--config", config, "--check-only"]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship: ${config}:4:1 general.backup_dir: ${dir}/app/backups is inside sources.one.app_dir (${dir}/app): a release could overwrite ship's own files; keep it outside the app; ` +
        `${config}:4:1 general.backup_dir: ${dir}/app/backups is inside sources.two.app_dir (${dir}/app): a release could overwrite ship's own files; keep it outside the app`,
    );
  });

  it("an empty or over-long [hub] agent_id is one problem on one line", async () => {
    // Empty, it also failed the id's pattern: two lines for one key. Over-long with a bad character likewise.
    const config = join(dir, "ship.toml");
    for (const [id, problem] of [
      ["", "must not be empty"],
      [
        "-".repeat(201),
        "must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
      ],
    ]) {
      await writeFile(
        config,
        `[general]\nstate_file = "${dir}/state.json"\n\n${source("one")}\n[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${dir}/token"\nagent_id = "${id}"\n`,
      );
      const run = await runShip(["--config", config, "--check-only"]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toBe(`ship: ${config}:12:1 hub.agent_id: ${problem}\n`);
    }
  });

  it("an empty path or pattern is one problem on one line", async () => {
    // Empty, app_dir also failed "must be an absolute path": two lines for one key.
    const config = join(dir, "ship.toml");
    for (const [text, at, key] of [
      [
        `[sources.one]\ntype = "local"\npath = "${dir}/release"\napp_dir = ""\n`,
        "7:1",
        "sources.one.app_dir",
      ],
      [`[sources.one]\ntype = "local"\npath = ""\napp_dir = "${dir}/app"\n`, "6:1", "sources.one.path"],
      [
        `${source("one")}\n[sources.one.security]\nprivileged_files = [""]\n`,
        "10:21",
        "sources.one.security.privileged_files[0]",
      ],
    ] as const) {
      await writeFile(config, `[general]\nstate_file = "${dir}/state.json"\n\n${text}`);
      const run = await runShip(["--config", config, "--check-only"]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toBe(`ship: ${config}:${at} ${key}: must not be empty\n`);
    }
  });

  it("a path of the wrong kind and two sources on one app_dir are placed too", async () => {
    const config = join(dir, "ship.toml");
    await mkdir(join(dir, "state-dir"));
    await writeFile(
      config,
      `[general]\nbackup_dir = "${dir}/backups"\nstate_file = "${dir}/state-dir"\n\n${source("one")}`,
    );
    const kind = await runShip(["--config", config, "--check-only"]);
    expect(kind.code, kind.stderr).toBe(2);
    expect(kind.stderr.trim()).toBe(
      `ship: ${config}:3:1 general.state_file: ${dir}/state-dir is a directory; it must be a file`,
    );

    await writeFile(config, `[general]\nbackup_dir = "${dir}/backups"\n\n${source("one")}\n${source("two")}`);
    const shared = await runShip(["--config", config, "--check-only"]);
    expect(shared.code, shared.stderr).toBe(2);
    expect(shared.stderr.trim()).toMatch(
      new RegExp(`^ship: ${config}:7:1 sources\\.one\\.app_dir, sources\\.two\\.app_dir: all name `),
    );
  });
});

describe("hub.toml", () => {
  beforeAll(requireHubBin);

  it.each([
    ['# hub\n\nport = "x"\n', "hub.toml:3:1 port: must be a number"],
    // A relative path is hub.toml's directory's, and named so.
    ['# hub\ndata_dir = "hub.toml"\n', "hub.toml:2:1 data_dir: DIR/hub.toml is not a directory"],
    [
      'data_dir = "data"\n\njwt_secret_file = "nope"\n',
      "hub.toml:3:1 jwt_secret_file: cannot read DIR/nope: no such file or directory",
    ],
  ])("%j: exit 2 naming the key's line", async (toml, message) => {
    await writeFile(join(dir, "hub.toml"), toml);
    const { code, stderr } = await runHubCli(dir, ["serve", "--port", "0", "--config", "hub.toml"]);
    expect(code, stderr).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr.trim()).toContain(`ship-hub: ${message.replace("DIR", dir)}`);
  });
});
