/**
 * A restore puts modification times back to the nanosecond, as `stat` shows them. Before, each
 * directory's time came back to the millisecond (kept as ms, put back through a Date) and then
 * short by a microsecond (a Date's ms over 1000 is a double just below: .123456789 came back
 * .122999000): tools that compare times to the nanosecond (make, backup and cache checks) saw every
 * directory the update touched as changed after `ship --rollback`, the automatic restore of a failed
 * health check, or the undo of a killed apply. Renames keep files' and symlinks' times exactly;
 * copies (backup_dir on another filesystem, a real tmpfs) keep them to the microsecond, where a
 * file came back to the millisecond (short by one µs) and a symlink with the time of the restore.
 */
import { execFile } from "node:child_process";
import { lstat, mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const run = promisify(execFile);
let app: LocalApp;
const DIRS = ["", "bin", "conf", "conf/deep"];
const FILES = ["bin/tool", "conf/a.conf", "app.txt", "current"];

/** Each entry its own time, with nanoseconds no Date or double holds: 2021-03-04T05:06:07.123456789 + i s. */
async function stampAll(): Promise<void> {
  const entries = [...FILES, ...[...DIRS].reverse()];
  for (const [i, rel] of entries.entries()) {
    await run("touch", ["-h", "-m", "-d", `@${1614834367 + i}.123456789`, "--", join(app.appDir, rel)]);
  }
}

/** `stat --format=%y` of every entry above, as an operator would compare them. */
async function statTimes(rels: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of rels) {
    out[rel] = (await run("stat", ["--format=%y", join(app.appDir, rel)])).stdout.trim();
  }
  return out;
}

async function install(configExtra = ""): Promise<void> {
  app = await localApp(configExtra);
  await app.release("r1", 'version: "1.0.0"\n', {
    "bin/tool": "v1\n",
    "conf/a.conf": "c1\n",
    "conf/deep/b.conf": "b1\n",
    "app.txt": "v1\n",
  });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  // The operator's own symlink, which 2.0.0 replaces with a file: it goes into the backup.
  await symlink("app.txt", join(app.appDir, "current"));
}

/** 2.0.0 changes an entry in every directory above and replaces `current` with a file. */
async function releaseV2(extra = ""): Promise<void> {
  await app.release("r2", `version: "2.0.0"\n${extra}`, {
    "bin/tool": "v2\n",
    "conf/a.conf": "c2\n",
    "conf/deep/c.conf": "c\n",
    "app.txt": "v2\n",
    current: "a file now\n",
  });
}

async function rollbackNewest(): Promise<void> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(list.stdout) as { id: string }[];
  const undo = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
  expect(undo.code, undo.stdout + undo.stderr).toBe(0);
}

describe("a restore puts times back to the nanosecond (real CLI, stat --format=%y)", () => {
  beforeEach(async () => {
    await install();
    await stampAll();
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("ship --rollback: directories, files and a symlink", async () => {
    const before = await statTimes([...DIRS, ...FILES]);
    expect(before[""]).toContain(".123456789");
    await releaseV2();
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect((await statTimes(["bin"])).bin).not.toBe(before.bin);
    await rollbackNewest();
    expect((await lstat(join(app.appDir, "current"))).isSymbolicLink()).toBe(true);
    expect(await statTimes([...DIRS, ...FILES])).toEqual(before);
  });

  it("the automatic restore of a failed health check", async () => {
    const before = await statTimes([...DIRS, ...FILES]);
    await releaseV2('post_update_tests:\n  - {name: health, command: "false"}\n');
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await statTimes([...DIRS, ...FILES])).toEqual(before);
  });

  it("the undo of an apply SIGKILLed part-way (ship --recover)", async () => {
    const before = await statTimes([...DIRS, ...FILES]);
    await releaseV2();
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@3" } });
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await statTimes([...DIRS, ...FILES])).toEqual(before);
  });
});

describe("copies across filesystems keep times to the microsecond (real tmpfs backup_dir)", () => {
  let mounted = false;
  beforeEach(async () => {
    await install();
    await mkdir(join(app.root, "var/backups"), { recursive: true });
    mounted = mountTmpfs(join(app.root, "var/backups"), "4m");
    await stampAll();
  });
  afterEach(async () => {
    if (mounted) unmountTmpfs(join(app.root, "var/backups"));
    await app.cleanup();
  });

  it("ship --rollback: files and a symlink copied there and back, directories exactly", async (ctx) => {
    if (!mounted) return ctx.skip();
    const micros = (t: string) => t.replace(/(\.\d{6})\d{3}/, "$1");
    const before = await statTimes([...DIRS, ...FILES]);
    await releaseV2();
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stderr).toContain("another filesystem");
    await rollbackNewest();
    const after = await statTimes([...DIRS, ...FILES]);
    for (const rel of DIRS) expect(after[rel], rel).toBe(before[rel]);
    for (const rel of FILES) expect(micros(after[rel] ?? ""), rel).toBe(micros(before[rel] ?? ""));
  });
});
