/**
 * A path ship or ship-hub may not write — the service user meeting a directory root made
 * (/var/log, a backup_dir made by hand) — is named in one line with the errno in words, never
 * "internal error: EACCES: permission denied, open '…'" and never blamed on something else. As root
 * (CI) the commands run as nobody in root's directories; otherwise the directories are read-only.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_BIN, requireHubBin } from "../../support/hub-cli.js";
import { type CliResult, runNodeScript, SHIP_BIN } from "../../support/ship-cli.js";

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs the script as nobody when the tests run as root, with no hub config or secret around. */
function runAsUser([script, ...args]: string[], cwd: string): Promise<CliResult> {
  return runNodeScript(script ?? "", args, {
    cwd,
    ...(asRoot ? { user: { uid: NOBODY, gid: NOBODY } } : {}),
    env: { SHIP_HUB_CONFIG: "", SHIP_HUB_SECRET: "" },
  });
}

describe("paths the running user may not write (real processes)", () => {
  let root: string;
  let closed: string;

  /** A directory of the run's own (nobody's, as root) and one it may not write in. */
  beforeEach(async () => {
    requireHubBin();
    root = await mkdtemp(join(tmpdir(), "ship-unwritable-"));
    await chmod(root, 0o755);
    for (const dir of ["app", "var", "release"]) await mkdir(join(root, dir));
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "release/app.py"), "v1\n");
    if (asRoot) for (const dir of ["app", "var"]) await chown(join(root, dir), NOBODY, NOBODY);
    closed = join(root, "closed");
    await mkdir(closed, { mode: 0o755 });
    if (!asRoot) await chmod(closed, 0o555);
  });
  afterEach(async () => {
    await chmod(closed, 0o755).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  async function shipConfig(general: string): Promise<string> {
    const file = join(root, "ship.toml");
    await writeFile(
      file,
      `[general]\nstate_file = "${root}/var/state.json"\n${general}\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
    );
    return file;
  }

  it("a [general.logging] file in a directory ship may not write: named with its key, exit 2, nothing installed", async () => {
    const log = join(closed, "ship.log");
    const config = await shipConfig(
      `backup_dir = "${root}/var/backups"\n[general.logging]\nfile = "${log}"\n`,
    );
    const run = await runAsUser([SHIP_BIN, "--config", config], root);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^ship: ${config}:\\d+:\\d+ general\\.logging\\.file: cannot write log file ${log}: permission denied \\(EACCES\\)$`,
      ),
    );
    // Bad input, not "the update failed and was undone" (it was exit 1).
    expect(run.code).toBe(2);
    expect(await readdir(join(root, "app"))).toEqual([]);
  });

  // Known before anything runs: it was exit 1 "update failed at apply" after the pre_update hooks.
  it("a backup_dir ship may not write in: exit 2 naming the key and the directory, before any hook", async () => {
    const config = await shipConfig(`backup_dir = "${closed}"\n`);
    await writeFile(
      join(root, "release/update-manifest.yaml"),
      'version: "1.0.0"\nhooks:\n  pre_update: ["touch ../var/hook-ran"]\n',
    );
    const run = await runAsUser([SHIP_BIN, "--config", config], root);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^ship: ${config}:\\d+:\\d+ general\\.backup_dir: ${closed}/myapp does not exist, and \\S+ may not create it in ${closed} \\(owner uid \\d+, mode \\d+\\): create it as root and chown it to \\S+ \\(permission denied \\(EACCES\\)\\)$`,
      ),
    );
    expect(await readdir(join(root, "app"))).toEqual([]);
    expect(await readdir(join(root, "var"))).not.toContain("hook-ran");
  });

  it("a staging directory (under the state directory) ship may not write in: exit 2 naming it, not a bare EACCES", async () => {
    const config = await shipConfig(`backup_dir = "${root}/var/backups"\nwork_dir = "${closed}"\n`);
    const run = await runAsUser([SHIP_BIN, "--config", config], root);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^ship: ${config}:\\d+:\\d+ general\\.work_dir: ${closed}: \\S+ may not read, write and enter it `,
      ),
    );
    expect(run.stdout + run.stderr).not.toContain("EACCES: permission denied");
    expect(await readdir(join(root, "app"))).toEqual([]);
  });

  it("ship release keygen --out a directory it may not write in", async () => {
    const run = await runAsUser([SHIP_BIN, "release", "keygen", "--out", closed], root);
    expect(run.stderr.trim()).toBe(
      `ship release keygen: cannot open ${closed}/ship-release.key: permission denied (EACCES)`,
    );
    expect(run.code).toBe(1);
  });

  it("ship-hub serve and token create with a data_dir it may not create: exit 2 naming hub.toml's data_dir and the directory, not the port", async () => {
    const data = join(closed, "data");
    const hubToml = join(root, "hub.toml");
    await writeFile(hubToml, `data_dir = "${data}"\nport = 0\n`);
    for (const args of [
      ["serve", "--config", hubToml],
      ["token", "create", "--config", hubToml, "--role", "ci"],
    ]) {
      const run = await runAsUser([HUB_BIN, ...args], root);
      // It was "cannot create directory …: permission denied (EACCES)", exit 1, naming no key.
      expect(run.stderr.trim(), args.join(" ")).toMatch(
        new RegExp(
          `^ship-hub: ${hubToml}:1:1 data_dir: ${data} does not exist, and \\S+ may not create it in ${closed} \\(owner uid \\d+, mode \\d+\\): create it as root and chown it to \\S+ \\(permission denied \\(EACCES\\)\\)$`,
        ),
      );
      expect(run.code).toBe(2);
    }
  });
});
