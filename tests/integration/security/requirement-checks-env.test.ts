/**
 * `requirements.environment_checks` are commands of the release's manifest, like hooks: they start
 * from the same clean environment, so a secret in the agent's environment (an SFTP passphrase_env,
 * the hub token) cannot reach their output, which ship prints, logs and reports as the failure.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("the environment requirement checks get", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-check-env-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("holds none of the agent's secrets: a failing check that prints them shows nothing of them", async () => {
    const release = join(root, "release");
    await mkdir(release);
    await writeFile(join(release, "app.txt"), "v1\n");
    await writeFile(
      join(release, "update-manifest.yaml"),
      [
        'version: "1.0.0"',
        "requirements:",
        "  environment_checks:",
        "    - name: leak",
        `      command: 'env | sort > ${root}/check-env.txt; echo "pass=$SFTP_PASSPHRASE token=$SHIP_HUB_TOKEN"; exit 1'`,
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
    // The check failed (its own exit 1) and said what it printed, without the secrets.
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("pass= token=");
    const names = (await readFile(join(root, "check-env.txt"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(names).toContain("PATH");
    expect(names).not.toContain("SFTP_PASSPHRASE");
    expect(names).not.toContain("SHIP_HUB_TOKEN");
    const log = await readFile(join(root, "ship.log"), "utf8");
    for (const text of [log, result.stdout, result.stderr]) expect(text).not.toContain("s3cret");
  });
});
