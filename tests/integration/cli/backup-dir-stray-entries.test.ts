/**
 * README: `--list-backups` and `--rollback ID|PATH` look at every configured source's directory in
 * backup_dir before printing or moving anything (a file or a symlink loop there refuses as EACCES
 * does), while a file or a symlink directly in backup_dir that no source names is no app's backups
 * and is skipped.
 */
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let backups: string;
/** myapp on 2.0.0 with a backup that brings back 1.0.0; a second source, web, never run. */
beforeEach(async () => {
  app = await localApp();
  backups = join(app.root, "var", "backups");
  for (const v of ["1", "2"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n` });
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stderr).toBe(0);
  }
  await writeFile(
    app.config,
    `${await readFile(app.config, "utf8")}\n[sources.web]\ntype = "local"\npath = "${app.root}/r1"\napp_dir = "${app.root}/web"\n`,
  );
});
afterEach(() => app.cleanup());

async function toV1(): Promise<{ id: string; path: string }> {
  const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
  expect(listed.code, listed.stderr).toBe(0);
  const backup = (JSON.parse(listed.stdout) as { id: string; path: string; version: string | null }[]).find(
    (b) => b.version === "1.0.0",
  );
  if (backup === undefined) throw new Error(`no backup of 1.0.0 listed: ${listed.stdout}`);
  return backup;
}

describe("entries directly in backup_dir", () => {
  it("a file, a symlink loop and a dangling link no source names are skipped: listed and restored as before", async () => {
    await writeFile(join(backups, "NOTES.txt"), "the backups of this host\n");
    await symlink(join(backups, "stray-loop"), join(backups, "stray-loop"));
    await symlink(join(app.root, "nowhere"), join(backups, "dangling"));
    const plain = await runShip(["--config", app.config, "--list-backups"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe("");
    const back = await runShip(["--config", app.config, "--rollback", (await toV1()).id]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a file where source web's directory should be: --rollback PATH of myapp's backup is refused, nothing changed", async () => {
    const target = await toV1();
    await writeFile(join(backups, "web"), "not a directory\n");
    const back = await runShip(["--config", app.config, "--rollback", target.path]);
    expect(back.code, back.stdout + back.stderr).toBe(2);
    expect(back.stderr).toContain(`backup_dir ${backups} cannot be listed: ENOTDIR`);
    expect(back.stderr).toContain(`(at ${join(backups, "web")})`);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });
});
