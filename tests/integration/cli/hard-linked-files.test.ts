/**
 * App files with more than one name (hard links). ship renames a new file over the app's name
 * (never a half-written file), so the other names keep the old content: a merged config linked into
 * /etc, a replaced file linked beside itself. The run said nothing, and the operator found the old
 * config under the other name. Now the run's WARNING line, its --json report (which the hub's report
 * carries) and the log name each file and its other names. Real CLI, real files, link counts by lstat.
 */
import { link, lstat, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { installRelease, type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "config.toml": {action: merge_toml}\n  "bin/*": {action: replace}\n`;

function warningsOf(stdout: string): string[] {
  const report = JSON.parse(stdout) as { apps: { warnings: string[] }[] };
  return report.apps[0]?.warnings ?? [];
}

describe("app files with more than one name (real CLI)", () => {
  it("a merged config linked outside the app: the other name keeps the old content, and the run says so", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), {
      "config.toml": "port = 80\n",
      "bin/tool": "v1\n",
    });
    const etc = join(app.root, "etc");
    await mkdir(etc);
    const other = join(etc, "myapp.toml");
    await writeFile(join(app.appDir, "config.toml"), "port = 8080\n");
    await link(join(app.appDir, "config.toml"), other);
    const before = await lstat(other);
    expect(before.nlink).toBe(2);

    await app.release("v2", manifest("2.0.0"), {
      "config.toml": "port = 80\nworkers = 4\n",
      "bin/tool": "v1\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("port = 8080\nworkers = 4\n");
    // Kept as it was: the rename is not undone, the split is said.
    expect(await readFile(other, "utf8")).toBe("port = 8080\n");
    expect((await lstat(join(app.appDir, "config.toml"))).nlink).toBe(1);
    const said =
      "replaced 1 file(s) that had more than one name (hard links) by a new file under the app's name, so the other names keep the old content: config.toml had 2 names (1 elsewhere); ln -f them to the app's file if they should have the new content";
    expect(warningsOf(run.stdout)).toEqual([said]);
    expect(run.stderr).toContain(`myapp: WARNING: ${said}`);

    // A rollback renames the saved inode back: the app's name and the other one are one file again.
    const backups = join(app.root, "var/backups/myapp");
    const back = await runShip(["--config", app.config, "--rollback", await backupMadeFor(backups, "2.0.0")]);
    expect(back.code, back.stderr).toBe(0);
    const restored = await lstat(join(app.appDir, "config.toml"));
    expect(restored.ino).toBe(before.ino);
    expect(restored.nlink).toBeGreaterThanOrEqual(2);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("port = 8080\n");
  });

  it("a replaced file linked to an app file the release does not ship: the warning names that file", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), { "config.toml": "a = 1\n", "bin/tool": "v1\n" });
    await link(join(app.appDir, "bin/tool"), join(app.appDir, "tool-copy"));

    await app.release("v2", manifest("2.0.0"), { "config.toml": "a = 1\n", "bin/tool": "v2\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "bin/tool"), "utf8")).toBe("v2\n");
    expect(await readFile(join(app.appDir, "tool-copy"), "utf8")).toBe("v1\n");
    expect(warningsOf(run.stdout)).toEqual([
      expect.stringContaining("the other names keep the old content: bin/tool had 2 names (tool-copy)"),
    ]);
  });

  it("names that the update all replaces get the new content each: no warning", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), {
      "config.toml": "a = 1\n",
      "bin/tool": "same\n",
      "bin/alias": "same\n",
    });
    await rm(join(app.appDir, "bin/alias"));
    await link(join(app.appDir, "bin/tool"), join(app.appDir, "bin/alias"));
    expect((await lstat(join(app.appDir, "bin/tool"))).nlink).toBe(2);

    await app.release("v2", manifest("2.0.0"), {
      "config.toml": "a = 1\n",
      "bin/tool": "new\n",
      "bin/alias": "new\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "bin/alias"), "utf8")).toBe("new\n");
    expect(warningsOf(run.stdout)).toEqual([]);
  });

  it("a hard-linked pair of which the release changes one: the other holds the release's bytes, no warning", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), {
      "config.toml": "a = 1\n",
      "bin/tool": "same\n",
      "bin/alias": "same\n",
    });
    // As an archive's hard-linked entries are installed: one file under both names.
    await rm(join(app.appDir, "bin/alias"));
    await link(join(app.appDir, "bin/tool"), join(app.appDir, "bin/alias"));

    await app.release("v2", manifest("2.0.0"), {
      "config.toml": "a = 1\n",
      "bin/tool": "new\n",
      "bin/alias": "same\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "bin/tool"), "utf8")).toBe("new\n");
    expect(await readFile(join(app.appDir, "bin/alias"), "utf8")).toBe("same\n");
    expect(warningsOf(run.stdout)).toEqual([]);
  });

  it("a rollback takes the app's name from files linked since the update: the other names keep the undone content, and the rollback says so", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), { "config.toml": "port = 80\n", "bin/tool": "v1\n" });
    await app.release("v2", manifest("2.0.0"), {
      "config.toml": "port = 80\nworkers = 4\n",
      "bin/tool": "v2\n",
      "bin/new": "new\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const etc = join(app.root, "etc");
    await mkdir(etc);
    // Linked after the update: 2.0.0's config into /etc, and the tool 2.0.0 added.
    await link(join(app.appDir, "config.toml"), join(etc, "myapp.toml"));
    await link(join(app.appDir, "bin/new"), join(etc, "new"));
    const backups = join(app.root, "var/backups/myapp");
    const back = await runShip(["--config", app.config, "--rollback", await backupMadeFor(backups, "2.0.0")]);
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("port = 80\n");
    expect(await readFile(join(etc, "myapp.toml"), "utf8")).toBe("port = 80\nworkers = 4\n");
    // bin/tool had only the app's name (and the restore's own in the backup): not named.
    expect(back.stderr).toContain(
      "myapp: WARNING: restored 2 file(s) that had more than one name (hard links) under the app's name only, so the other names keep the undone version's content: bin/new had 2 names (1 other), config.toml had 2 names (1 other); ln -f them to the app's file if they should have the restored content",
    );

    // A plain rollback whose only other names are its own (the restore's second names, and the links
    // its rollback hook's $SHIP_RELEASE_DIR makes to the app's files): nothing said.
    const hooked = `${manifest("3.0.0")}hooks:\n  rollback:\n    - command: "test -f $SHIP_RELEASE_DIR/bin/tool"\n`;
    await app.release("v3", hooked, { "config.toml": "port = 80\n", "bin/tool": "v3\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const plain = await runShip([
      "--config",
      app.config,
      "--rollback",
      await backupMadeFor(backups, "3.0.0"),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain("rollback hook[0] succeeded");
    expect(plain.stderr).not.toContain("more than one name");
  });

  // The automatic restore after a failed health check took the same names and said nothing, where
  // `--rollback`, the daemon's report and `--recover` say it.
  const linkedByHook = (version: string, etc: string) =>
    `${manifest(version)}hooks:\n  post_update: ["ln config.toml ${etc}/myapp.toml"]\n  rollback: ["test -f $SHIP_RELEASE_DIR/bin/tool"]\n` +
    `post_update_tests:\n  - { name: health, command: "false" }\n`;
  const undoneSaid =
    "restored 1 file(s) that had more than one name (hard links) under the app's name only, so the other names keep the undone version's content: config.toml had 2 names (1 other); ln -f them to the app's file if they should have the restored content";

  it("an automatic restore after a failed health check takes the name of a config a hook linked: the run, its report and the log say so", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), { "config.toml": "port = 80\n", "bin/tool": "v1\n" });
    const etc = join(app.root, "etc");
    await mkdir(etc);
    await app.release("v2", linkedByHook("2.0.0", etc), { "config.toml": "port = 81\n", "bin/tool": "v2\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("port = 80\n");
    expect(await readFile(join(etc, "myapp.toml"), "utf8")).toBe("port = 81\n");
    // bin/tool's other names are the restore's own and the rollback hook's copy: not named.
    expect(run.stderr).toContain("rollback hook[0] succeeded");
    expect(warningsOf(run.stdout)).toEqual([undoneSaid]);
    expect(run.stderr).toContain(`myapp: WARNING: ${undoneSaid}`);
  });

  it("killed before its health check, the update's restore by --recover says so too (its rollback hook's copy is its own)", async () => {
    await installRelease(app, "v1", manifest("1.0.0"), { "config.toml": "port = 80\n", "bin/tool": "v1\n" });
    const etc = join(app.root, "etc");
    await mkdir(etc);
    await app.release("v2", linkedByHook("2.0.0", etc), { "config.toml": "port = 81\n", "bin/tool": "v2\n" });
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code, killed.stderr).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stderr).toContain("rollback hook[0] succeeded");
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("port = 80\n");
    expect(await readFile(join(etc, "myapp.toml"), "utf8")).toBe("port = 81\n");
    expect(recovered.stdout + recovered.stderr).toContain(undoneSaid);
    expect(recovered.stdout + recovered.stderr).not.toContain("bin/tool had");
  });
});

/**
 * The backup an update to `version` made, found by its meta.json: an id is the app and the UTC second
 * (newBackupId), so a restored backup's id is free again, and an update in that second takes it.
 */
async function backupMadeFor(backups: string, version: string): Promise<string> {
  const ids = (await readdir(backups)).filter((id) => !id.startsWith("."));
  const metas = await Promise.all(ids.map((id) => readFile(join(backups, id, "meta.json"), "utf8")));
  const id = ids.find(
    (_, i) => (JSON.parse(metas[i] ?? "{}") as { toVersion?: string }).toVersion === version,
  );
  return join(backups, id ?? "none");
}
