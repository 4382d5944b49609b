/**
 * Hooks, `command()` conditions and `requirements.environment_checks` start from a clean
 * environment: the documented SHIP_* variables and a few essentials (PATH, HOME, LANG, ...). Secrets
 * in the agent's environment (an SFTP passphrase_env, the hub token) never reach such a command, its
 * output (which ship prints, logs and reports as a failure) or ship.log.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-command-env-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A local release with these manifest lines after its version, run with secrets in ship's environment. */
async function runWithSecrets(name: string, manifest: (dir: string) => string[]) {
  const dir = join(root, name);
  const release = join(dir, "release");
  await mkdir(release, { recursive: true });
  await writeFile(join(release, "app.txt"), "v1\n");
  await writeFile(
    join(release, "update-manifest.yaml"),
    ['version: "1.0.0"', ...manifest(dir), ""].join("\n"),
  );
  await writeFile(
    join(dir, "ship.toml"),
    `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[general.logging]\nfile = "${dir}/ship.log"\nlevel = "debug"\n\n[sources.myapp]\ntype = "local"\npath = "${release}"\napp_dir = "${dir}/app"\n`,
  );
  await mkdir(join(dir, "app"));
  const result = await runShip(["--config", join(dir, "ship.toml"), "--force", "--verbose"], {
    env: { SFTP_PASSPHRASE: "s3cret-passphrase", SHIP_HUB_TOKEN: "s3cret-token", LANG: "C.UTF-8" },
  });
  const log = await readFile(join(dir, "ship.log"), "utf8");
  return { dir, result, log };
}

/** The variable names a command wrote with `env | sort > FILE`. */
async function envNames(file: string): Promise<string[]> {
  return (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((line) => line.slice(0, line.indexOf("=")));
}

describe("the environment hooks get", () => {
  it("is SHIP_* plus essentials; the agent's secrets stay out of hooks, their output and ship.log", async () => {
    const { dir, result, log } = await runWithSecrets("hooks", (d) => [
      "conditionals:",
      `  - condition: "command('test -n \\"$SFTP_PASSPHRASE\\"')"`,
      "    action: skip_update",
      "hooks:",
      `  pre_update: ["env | sort > ${d}/hook-env.txt; env"]`,
    ]);
    expect(result.code).toBe(0);
    // The condition skips the update when the secret is visible to command(): it ran, so it was not.
    expect(await readFile(join(dir, "app", "app.txt"), "utf8")).toBe("v1\n");

    const names = await envNames(join(dir, "hook-env.txt"));
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
    expect(log).toContain("SHIP_VERSION=1.0.0");
    for (const text of [log, result.stdout, result.stderr]) expect(text).not.toContain("s3cret");
  });
});

describe("the environment requirement checks get", () => {
  it("holds none of the agent's secrets: a failing check that prints them shows nothing of them", async () => {
    const { dir, result, log } = await runWithSecrets("checks", (d) => [
      "requirements:",
      "  environment_checks:",
      "    - name: leak",
      `      command: 'env | sort > ${d}/check-env.txt; echo "pass=$SFTP_PASSPHRASE token=$SHIP_HUB_TOKEN"; exit 1'`,
    ]);
    // The check failed (its own exit 1) and said what it printed, without the secrets.
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("pass= token=");
    const names = await envNames(join(dir, "check-env.txt"));
    expect(names).toContain("PATH");
    expect(names).not.toContain("SFTP_PASSPHRASE");
    expect(names).not.toContain("SHIP_HUB_TOKEN");
    for (const text of [log, result.stdout, result.stderr]) expect(text).not.toContain("s3cret");
  });
});
