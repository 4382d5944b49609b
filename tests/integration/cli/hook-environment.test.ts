/**
 * Hooks and `command()` conditions start from a clean environment: the documented SHIP_* variables
 * and a few essentials (PATH, HOME, LANG, ...). Secrets in the agent's environment (an SFTP
 * passphrase_env, the hub token) never reach a hook, its output or ship.log.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("the environment hooks get", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-hook-env-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is SHIP_* plus essentials; the agent's secrets stay out of hooks, their output and ship.log", async () => {
    const release = join(root, "release");
    await mkdir(release);
    await writeFile(join(release, "app.txt"), "v1\n");
    await writeFile(
      join(release, "update-manifest.yaml"),
      [
        'version: "1.0.0"',
        "conditionals:",
        `  - condition: "command('test -n \\"$SFTP_PASSPHRASE\\"')"`,
        "    action: skip_update",
        "hooks:",
        `  pre_update: ["env | sort > ${root}/hook-env.txt; env"]`,
        "",
      ].join("\n"),
    );
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[general.logging]\nfile = "${root}/ship.log"\nlevel = "debug"\n\n[sources.myapp]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app"\n`,
    );
    await mkdir(join(root, "app"));
    const result = await runShip(["--config", join(root, "ship.toml"), "--force", "--verbose"], {
      env: { SFTP_PASSPHRASE: "s3cret-passphrase", SHIP_HUB_TOKEN: "s3cret-token", LANG: "C.UTF-8" },
    });
    expect(result.code).toBe(0);
    // The condition skips the update when the secret is invisible to command(): it ran, so it was.
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("v1\n");

    const names = (await readFile(join(root, "hook-env.txt"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(names).toEqual(
      expect.arrayContaining(["PATH", "HOME", "LANG", "SHIP_APP", "SHIP_VERSION", "SHIP_APP_DIR"]),
    );
    const allowed = new Set([
      "PATH",
      "HOME",
      "LANG",
      "LC_ALL",
      "LC_CTYPE",
      "TZ",
      "USER",
      "LOGNAME",
      "TMPDIR",
      "PWD",
      "SHLVL",
      "_",
      "OLDPWD",
    ]);
    expect(names.filter((n) => !allowed.has(n) && !n.startsWith("SHIP_"))).toEqual([]);
    expect(names).not.toContain("SHIP_HUB_TOKEN");
    const log = await readFile(join(root, "ship.log"), "utf8");
    expect(log).toContain("SHIP_VERSION=1.0.0");
    for (const text of [log, result.stdout, result.stderr]) expect(text).not.toContain("s3cret");
  });
});
