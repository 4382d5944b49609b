/**
 * README ("A backup_dir, or a directory in it, that ship's user cannot list (… a file, or a symlink
 * loop where a directory should be) is one line wherever ship reads the backups … exit 2, nothing
 * changed"; with --json "a run that bad input stops before it has a result still answers on stdout:
 * {"exitCode": 2, …}"). For EACCES that holds: stdout is empty (or that JSON). For a file or a
 * symlink loop where another source's backup directory should be, `--list-backups` prints the other
 * apps' table (or a JSON array of them) on stdout and then exits 2: a script reading the --json
 * stdout gets a list that looks whole, and no {"exitCode": 2} answer. And `--rollback ID` of the
 * other app, refused (exit 2, nothing changed) when the stray directory is EACCES, goes ahead and
 * restores (exit 0) when it is a file or a loop.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { writeTree } from "../apply/tree-fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-unlistable-stdout-"));
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function twoSources(name: string) {
  const dir = join(root, name);
  const backups = join(dir, "var", "backups");
  for (const v of ["1", "2"])
    await writeTree(join(dir, `r${v}`), {
      "update-manifest.yaml": `version: "${v}.0.0"\n`,
      "app.txt": `v${v}\n`,
    });
  await mkdir(join(dir, "app"));
  await mkdir(backups, { recursive: true });
  const config = join(dir, "ship.toml");
  const use = (v: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${backups}"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}/r${v}"\napp_dir = "${dir}/app"\n`,
    );
  for (const v of ["1", "2"]) {
    await use(v);
    const run = await runShip(["--config", config, "--force"]);
    expect(run.code, run.stderr).toBe(0);
  }
  await writeFile(
    config,
    `${await readFile(config, "utf8")}\n[sources.web]\ntype = "local"\npath = "${dir}/r1"\napp_dir = "${dir}/web"\n`,
  );
  return { dir, backups, config };
}

describe("--list-backups when another source's backup directory is a file or a symlink loop", () => {
  for (const kind of ["file", "loop"] as const) {
    it(`${kind}: exit 2 with nothing listed on stdout (--json: the exitCode answer)`, async () => {
      const { backups, config } = await twoSources(kind);
      const web = join(backups, "web");
      if (kind === "file") await writeFile(web, "not a directory\n");
      else await symlink(web, web);
      const plain = await runShip(["--config", config, "--list-backups"]);
      expect(plain.code, plain.stderr).toBe(2);
      expect(plain.stderr).toContain(`backup_dir ${backups} cannot be listed`);
      expect(plain.stdout).toBe("");
      const json = await runShip(["--config", config, "--list-backups", "--json"]);
      expect(json.code, json.stderr).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 2 });
    }, 60_000);

    it(`${kind}: --rollback ID of the other app is refused (exit 2, nothing changed), as it is for EACCES`, async () => {
      const { dir, backups, config } = await twoSources(`${kind}-rollback`);
      const listed = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout) as {
        id: string;
        version: string | null;
      }[];
      const toV1 = listed.find((b) => b.version === "1.0.0");
      expect(toV1).toBeDefined();
      const web = join(backups, "web");
      if (kind === "file") await writeFile(web, "not a directory\n");
      else await symlink(web, web);
      const back = await runShip(["--config", config, "--rollback", toV1?.id ?? ""]);
      expect(back.code, back.stdout + back.stderr).toBe(2);
      expect(back.stderr).toContain(`backup_dir ${backups} cannot be listed`);
      expect(await readFile(join(dir, "app", "app.txt"), "utf8")).toBe("v2\n");
    }, 60_000);
  }
});
