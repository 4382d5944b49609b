/**
 * Every command that reads backup_dir, when a directory there cannot be listed: exit 2 and one line
 * naming backup_dir (and the directory) with what is wrong, nothing changed on disk. Some said so;
 * `--list-backups`, `--rollback`, an update's `.bak` check and a resumed rollback let Node's
 * "EACCES: permission denied, scandir …" out instead (exit 1, or 3 for `--recover`). Permissions are
 * met as an operator's non-root ship meets them (ship run as nobody); a file or a symlink loop where
 * a directory should be is met as root.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asRoot, chownToNobody, NOBODY } from "../../support/as-nobody.js";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { snapshot, writeTree } from "../apply/tree-fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-unlistable-commands-"));
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "br.txt": { action: backup_replace }\n`;

/** An app installed at 1.0.0 and updated to 2.0.0 (br.txt.bak is ship's), as `user` or root. */
async function installed(name: string, user?: typeof NOBODY) {
  const dir = join(root, name);
  const backups = join(dir, "var", "backups");
  for (const v of ["1", "2", "3"])
    await writeTree(join(dir, `r${v}`), {
      "update-manifest.yaml": manifest(`${v}.0.0`),
      "app.py": `v${v}\n`,
      "br.txt": `br ${v}\n`,
      ...(v === "2" ? { "two.txt": "2\n" } : {}),
    });
  await mkdir(join(dir, "app"));
  await mkdir(backups, { recursive: true });
  const config = join(dir, "ship.toml");
  const use = (v: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${backups}"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}/r${v}"\napp_dir = "${dir}/app"\n`,
    );
  if (user !== undefined) await chownToNobody(dir);
  const ship = (args: string[], env?: NodeJS.ProcessEnv) =>
    runShip(["--config", config, ...args], {
      ...(user === undefined ? {} : { user }),
      ...(env ? { env } : {}),
    });
  const release = async (v: string) => {
    await use(v);
    if (user !== undefined) await chownToNobody(config);
    const run = await ship(["--force"]);
    expect(run.code, run.stderr).toBe(0);
  };
  await release("1");
  await release("2");
  const listed = await ship(["--list-backups", "--json"]);
  const ids = JSON.parse(listed.stdout) as { id: string; path: string; version: string | null }[];
  return { dir, backups, ship, use, release, ids };
}

/** Another config's backups in backup_dir, which nobody may not read. */
async function closeOther(backups: string): Promise<string> {
  const other = join(backups, "other");
  await mkdir(other);
  await chmod(other, 0o700);
  return other;
}

/**
 * Exit 2, one line naming backup_dir and the directory with what is wrong (an update's result line
 * follows its log's line of the failed step).
 */
function refused(run: CliResult, backups: string, what: string, at?: string): void {
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trim().split("\n");
  const said = lines.filter((l) => !l.startsWith("{"));
  expect(said, run.stderr).toHaveLength(1);
  expect(said[0]).toContain(`backup_dir ${backups} cannot be listed: ${what}`);
  if (at !== undefined) expect(said[0]).toContain(`(at ${at})`);
  expect(run.stderr).not.toMatch(/scandir|internal error/);
}

describe("a directory in backup_dir that ship's user may not read", () => {
  it("--list-backups, --rollback ID and --rollback PATH: exit 2, one line, nothing changed", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, backups, ship, ids } = await installed("commands", NOBODY);
    const other = await closeOther(backups);
    const before = await snapshot(dir);
    const toV1 = ids.find((b) => b.version === "1.0.0");
    for (const args of [
      ["--list-backups"],
      ["--list-backups", "--json"],
      ["--rollback", toV1?.id ?? ""],
      ["--rollback", toV1?.path ?? ""],
    ]) {
      refused(await ship(args), backups, "EACCES", other);
      expect(await snapshot(dir), args.join(" ")).toEqual(before);
    }
  });

  it("the app's own backup directory: --rollback PATH names it, not 'no such backup'", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, backups, ship, ids } = await installed("own", NOBODY);
    const toV1 = ids.find((b) => b.version === "1.0.0");
    await chmod(join(backups, "myapp"), 0);
    const before = await snapshot(dir);
    for (const args of [
      ["--list-backups"],
      ["--rollback", toV1?.id ?? ""],
      ["--rollback", toV1?.path ?? ""],
    ]) {
      refused(await ship(args), backups, "EACCES");
      expect(await snapshot(dir), args.join(" ")).toEqual(before);
    }
  });

  it("an update whose .bak needs the backups to tell ship's own from the operator's: exit 2, app unchanged", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, backups, ship, use } = await installed("keep-copy", NOBODY);
    expect(await readFile(join(dir, "app", "br.txt.bak"), "utf8")).toBe("br 1\n");
    await use("3");
    await chownToNobody(join(dir, "ship.toml"));
    const other = await closeOther(backups);
    const before = await snapshot(join(dir, "app"));
    const backupsBefore = await snapshot(backups);
    refused(await ship(["--force", "--quiet"]), backups, "EACCES", other);
    expect(await snapshot(join(dir, "app"))).toEqual(before);
    expect(await snapshot(backups)).toEqual(backupsBefore);
  });

  it("a chained rollback killed half-way, resumed by --recover and by the next run: exit 2, one line, left as it was", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, backups, ship, release } = await installed("resumed", NOBODY);
    await release("3");
    const listed = JSON.parse((await ship(["--list-backups", "--json"])).stdout) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const killed = await ship(["--rollback", toV1?.id ?? ""], { SHIP_FAULT: "rollback:between-restores" });
    expect(killed.code, killed.stderr).toBeNull();
    expect(await readFile(join(dir, "app", "app.py"), "utf8")).toBe("v2\n");
    const other = await closeOther(backups);
    const before = await snapshot(join(dir, "app"));
    const backupsBefore = await snapshot(backups);
    for (const args of [["--recover"], ["--force", "--quiet"]]) {
      const run = await ship(args);
      expect(run.code, run.stderr).toBe(2);
      expect(`${run.stdout}${run.stderr}`).toContain(`backup_dir ${backups} cannot be listed: EACCES`);
      expect(`${run.stdout}${run.stderr}`).toContain(`(at ${other})`);
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/scandir/);
      expect(await snapshot(join(dir, "app")), args.join(" ")).toEqual(before);
      expect(await snapshot(backups), args.join(" ")).toEqual(backupsBefore);
    }
  });
});

describe("a file or a symlink loop where a backup directory should be (as root)", () => {
  it("--list-backups names backup_dir and what is wrong: exit 2, nothing changed", async () => {
    // (backup_dir itself a loop or a file is a config check's, naming the key.)
    const { dir, backups, ship } = await installed("kinds");
    await writeFile(join(backups, "web"), "not a directory\n");
    await symlink(join(backups, "loop"), join(backups, "loop"));
    // --sources: the listing of each named app's directory for what restores set aside.
    await writeFile(
      join(dir, "ship.toml"),
      `${await readFile(join(dir, "ship.toml"), "utf8")}\n[sources.web]\ntype = "local"\npath = "${dir}/r1"\napp_dir = "${dir}/web"\n\n[sources.loop]\ntype = "local"\npath = "${dir}/r1"\napp_dir = "${dir}/loop"\n`,
    );
    const after = await snapshot(dir);
    refused(await ship(["--list-backups", "--sources", "web"]), backups, "ENOTDIR", join(backups, "web"));
    refused(await ship(["--list-backups", "--sources", "loop"]), backups, "ELOOP", join(backups, "loop"));
    expect(await snapshot(dir)).toEqual(after);
  });
});
