/**
 * Every path ship.toml names that a run creates, placed where the filesystem takes no new entry
 * (/proc: root passes every check by mode there, yet mkdir and open answer ENOENT): bad input
 * naming the key, exit 2, one line, and nothing of ship's written — before, each was exit 1 with a
 * bare "ENOENT … mkdir '/proc/x'", some after ship's state, locks and staging were made. Real CLI.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgentBriefly, runShip } from "../../support/ship-cli.js";

/** Under /proc, which takes no new directory or file; a name no process could have. */
const KERNEL = "/proc/ship-no-such-entry/x";

describe("paths ship.toml names where nothing can be created (real CLI)", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-uncreatable-"));
    await mkdir(join(root, "release"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "release/app.py"), "v1\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** ship.toml with `key` (a [general] key, logging.file, or the source's app_dir) set to `value`. */
  async function configWith(key: string, value: string): Promise<string> {
    const general: Record<string, string> = {
      state_file: `${root}/var/state.json`,
      backup_dir: `${root}/var/backups`,
    };
    let logging = "";
    let appDir = `${root}/app`;
    if (key === "logging.file") logging = `\n[general.logging]\nfile = "${value}"\n`;
    else if (key === "app_dir") appDir = value;
    else general[key] = value;
    const lines = Object.entries(general).map(([k, v]) => `${k} = "${v}"`);
    const file = join(root, "ship.toml");
    await writeFile(
      file,
      `[general]\n${lines.join("\n")}\nmin_interval_hours = 0\n${logging}\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${appDir}"\n`,
    );
    return file;
  }

  const keys = [
    ["state_file", "general.state_file"],
    ["backup_dir", "general.backup_dir"],
    ["work_dir", "general.work_dir"],
    ["lock_file", "general.lock_file"],
    ["logging.file", "general.logging.file"],
    ["app_dir", "sources.myapp.app_dir"],
  ] as const;

  for (const [key, named] of keys) {
    for (const value of [KERNEL, "/proc/ship-no-such-entry"]) {
      it(`${key} = "${value}": exit 2 naming ${named}, nothing written`, async () => {
        const config = await configWith(key, value);
        const result = await runShip(["--config", config, "--force"]);
        expect(result.code, result.stderr).toBe(2);
        const said = result.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
        expect(said).toHaveLength(1);
        expect(said[0]).toContain(`${config}:`);
        expect(said[0]).toContain(` ${named}: `);
        expect(said[0]).toContain("/proc");
        expect(said[0]).not.toMatch(/ENOENT|internal error/);
        // Neither ship's state directory nor the app's was touched.
        expect(existsSync(join(root, "var"))).toBe(false);
        expect(await readdir(join(root, "app"))).toEqual([]);
      });
    }
  }

  // Before: --recover exit 3 (the app "needs a person"), --rollback and --approve exit 1, each with
  // "cannot create directory /proc/…: no such file or directory (ENOENT)".
  for (const [what, args] of [
    ["--recover", ["--recover"]],
    ["--approve", ["--approve", "myapp", "1.0.0"]],
  ] as const) {
    it(`${what} with state_file under /proc: exit 2 naming general.state_file`, async () => {
      const config = await configWith("state_file", KERNEL);
      const result = await runShip(["--config", config, ...args]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim()).toMatch(
        new RegExp(
          `^ship: ${config}:2:1 general\\.state_file: /proc/ship-no-such-entry\\S* cannot be created: `,
        ),
      );
      expect(existsSync(join(root, "var"))).toBe(false);
    });
  }

  // Before: state_file a bare "cannot create directory /proc/…" (exit 1); work_dir and backup_dir
  // an agent that started and would have failed every instruction.
  for (const [key, named] of keys.filter(([k]) => ["state_file", "work_dir", "backup_dir"].includes(k))) {
    it(`ship agent with ${key} under /proc: refuses to start, exit 2 naming ${named}`, async () => {
      const config = await configWith(key, KERNEL);
      const token = join(root, "token");
      await writeFile(token, "a-token\n", { mode: 0o600 });
      await writeFile(
        config,
        `${await readFile(config, "utf8")}\n[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${token}"\n`,
      );
      const result = await runAgentBriefly(config);
      expect(result.code, result.stderr).toBe(2);
      const said = result.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(` ${named}: /proc/ship-no-such-entry`);
      expect(existsSync(join(root, "var"))).toBe(false);
    });
  }

  it("--rollback with state_file moved under /proc: exit 2 naming it, the app left as it was", async () => {
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
    const config = await configWith("state_file", `${root}/var/state.json`);
    expect((await runShip(["--config", config])).code).toBe(0);
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "2.0.0"\n');
    await writeFile(join(root, "release/app.py"), "v2\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    const [backup] = (await readdir(join(root, "var/backups/myapp"))).sort().reverse();
    await configWith("state_file", KERNEL);
    const result = await runShip(["--config", config, "--rollback", String(backup)]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toMatch(new RegExp(`^ship: ${config}:2:1 general\\.state_file: /proc/`));
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v2\n");
    expect(await readdir(join(root, "var/backups/myapp"))).toContain(backup);
  });
});
