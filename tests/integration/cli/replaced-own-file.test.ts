/**
 * A release that starts shipping a path where the operator already keeps a file of their own
 * (ship never installed it) replaces it, keeping it in the backup: the run says so in a WARNING line
 * naming the file and where its copy is, and so do the notification and the report. Real CLI.
 */
import { existsSync } from "node:fs";
import {
  chmod,
  chown,
  lstat,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const NOBODY = 65534;
const backupCopyLostOwner = new RegExp(
  `^saved 1 file\\(s\\) owned by another user into /\\S+/files as copies \\(backup_dir on another filesystem, or a hard link to another user's file refused\\), and ship \\(uid ${NOBODY}\\) may not give the copies that owner, so a rollback puts them back as ship's: app\\.py \\(was 1000:1001\\); run ship as root or as that user to keep the owner$`,
);

async function chownTree(path: string, id: number): Promise<void> {
  await chown(path, id, id);
  if (!(await lstat(path)).isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), id);
}

describe("a release path over a file ship had not installed (real CLI)", () => {
  let app: LocalApp;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeEach(async () => {
    app = await localApp();
    hook = await webhookReceiver();
    await app.release("v1", 'version: "1.0.0"\n', { "app.py": "v1\n" });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stderr).toBe(0);
    await writeFile(join(app.appDir, "local.conf"), "operator's value\n");
  });
  afterEach(async () => {
    await hook.close();
    await app.cleanup();
  });

  it("replaces it, and the run, its webhook and its --json report name the file and its copy in the backup", async () => {
    await app.release(
      "v2",
      `version: "2.0.0"\nnotifications:\n  on_success:\n    - type: webhook\n      url: "${hook.url}"\n`,
      { "app.py": "v2\n", "local.conf": "release default\n" },
    );
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "local.conf"), "utf8")).toBe("release default\n");
    const report = JSON.parse(run.stdout) as { apps: { warnings: string[] }[] };
    expect(report.apps[0]?.warnings).toEqual([expect.stringContaining("local.conf")]);
    const warning = run.stderr.split("\n").find((l) => l.startsWith("myapp: WARNING: "));
    // Before: nothing but "myapp: updated 1.0.0 → 2.0.0"; the operator's file was gone unsaid.
    expect(warning, run.stderr).toMatch(
      /^myapp: WARNING: replaced 1 file\(s\) ship had not installed: local\.conf; their previous versions are in (\S+)\/files /,
    );
    const copyDir = /are in (\S+) /.exec(warning ?? "")?.[1] ?? "";
    expect(await readFile(join(copyDir, "local.conf"), "utf8")).toBe("operator's value\n");

    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] ?? {};
    expect(body.warnings).toEqual([expect.stringContaining("local.conf")]);
    expect(String(body.text)).toContain("\nWARNING: replaced 1 file(s) ship had not installed: local.conf");

    // The file the operator made is back with --rollback of that update.
    const backup = copyDir.replace(/\/files$/, "");
    const back = await runShip(["--config", app.config, "--rollback", backup]);
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "local.conf"), "utf8")).toBe("operator's value\n");
  });

  // ship as a user that may not chown: the new versions become its own. Said only in the log (WARN),
  // the run printed "updated", and its --json report, webhook and the hub's report had no warning.
  it.runIf(process.getuid?.() === 0)(
    "run as a user that cannot keep a replaced file's owner: the run, its webhook and --json report say so",
    async () => {
      await app.release(
        "v2",
        `version: "2.0.0"\nnotifications:\n  on_success:\n    - type: webhook\n      url: "${hook.url}"\n`,
        { "app.py": "v2\n" },
      );
      await chownTree(app.root, NOBODY);
      await chown(join(app.appDir, "app.py"), 1000, 1001);
      const run = await runShip(["--config", app.config, "--json"], { user: { uid: NOBODY, gid: NOBODY } });
      expect(run.code, run.stderr).toBe(0);
      expect((await stat(join(app.appDir, "app.py"))).uid).toBe(NOBODY);
      const said = `replaced 1 file(s) owned by another user, and ship (uid ${NOBODY}) may not give their new versions that owner, so they are now ship's: app.py (was 1000:1001); run ship as root or as that user to keep the owner`;
      // The backup's copy too: the kernel refuses nobody a hard link to another user's file, and the
      // copy made instead was nobody's, put back so by a rollback, without a word.
      const report = JSON.parse(run.stdout) as { apps: { warnings: string[] }[] };
      expect(report.apps[0]?.warnings).toEqual([said, expect.stringMatching(backupCopyLostOwner)]);
      expect(run.stderr).toContain(`myapp: WARNING: ${said}`);
      expect(hook.bodies[0]?.warnings).toEqual(report.apps[0]?.warnings);
    },
  );

  // The same with backup_dir on another filesystem: the copy saved there lost its owner too (the
  // rename became a copy ship may not chown), without a word; a rollback put back a file that was ship's.
  it.runIf(process.getuid?.() === 0 && existsSync("/dev/shm"))(
    "run as that user with backup_dir on another filesystem: the run says the backup's copy lost its owner",
    async () => {
      const shm = await mkdtemp("/dev/shm/ship-xfs-");
      try {
        if ((await stat(shm)).dev === (await stat(app.root)).dev) return; // same filesystem: nothing to prove
        await app.release("v2", 'version: "2.0.0"\n', { "app.py": "v2\n" });
        const config = await readFile(app.config, "utf8");
        await writeFile(app.config, config.replace(/^backup_dir = .*$/m, `backup_dir = "${shm}/backups"`));
        await chownTree(app.root, NOBODY);
        await chown(shm, NOBODY, NOBODY);
        await chown(join(app.appDir, "app.py"), 1000, 1001);
        const run = await runShip(["--config", app.config, "--json"], { user: { uid: NOBODY, gid: NOBODY } });
        expect(run.code, run.stderr).toBe(0);
        const report = JSON.parse(run.stdout) as { apps: { warnings: string[] }[] };
        const lost = report.apps[0]?.warnings.find((w) =>
          w.startsWith("saved 1 file(s) owned by another user"),
        );
        expect(lost, run.stdout).toMatch(backupCopyLostOwner);
        expect(run.stderr).toContain(`myapp: WARNING: ${lost}`);
      } finally {
        await rm(shm, { recursive: true, force: true });
      }
    },
  );

  it("a file ship installed itself, or a first install over an existing app, is replaced without the warning", async () => {
    await app.release("v2", 'version: "2.0.0"\n', { "app.py": "v2\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("WARNING");
    const report = JSON.parse(run.stdout) as { apps: { warnings: string[] }[] };
    expect(report.apps[0]?.warnings).toEqual([]);

    // Ship's first install over an app installed by other means: replacing its files is the point.
    const other = await localApp();
    try {
      await writeFile(join(other.appDir, "app.py"), "installed by hand\n");
      await other.release("v1", 'version: "1.0.0"\n', { "app.py": "v1\n" });
      const first = await runShip(["--config", other.config]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).not.toContain("WARNING");
      expect(await readFile(join(other.appDir, "app.py"), "utf8")).toBe("v1\n");
    } finally {
      await other.cleanup();
    }
  });
});

/**
 * A file ship installed, changed on the host since (a fix made by hand), that the next release
 * replaces or drops: the edit is gone from the app, kept only in the backup. The run said
 * "updated 1.0.0 → 2.0.0" and nothing more; it names the files now. Real CLI.
 */
describe("a file ship installed and someone changed on the host (real CLI)", () => {
  let app: LocalApp;

  beforeEach(async () => {
    app = await localApp();
    await app.release("v1", 'version: "1.0.0"\n', {
      "app.py": "v1\n",
      "settings.ini": "workers = 2\n",
      "legacy.py": "old\n",
      "touched.py": "same\n",
      "untouched.py": "v1 too\n",
    });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stderr).toBe(0);
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("names the replaced and the removed ones with where their copies are; a touch, a chmod or an untouched file is no edit", async () => {
    await writeFile(join(app.appDir, "settings.ini"), "workers = 16  # hotfix\n");
    await writeFile(join(app.appDir, "legacy.py"), "patched by hand\n");
    // Same bytes written again (mtime and ctime move) and a mode change: not an edit of the content.
    await writeFile(join(app.appDir, "touched.py"), "same\n");
    await chmod(join(app.appDir, "untouched.py"), 0o600);
    await app.release("v2", 'version: "2.0.0"\n', {
      "app.py": "v2\n",
      "settings.ini": "workers = 4\n",
      "touched.py": "new\n",
      "untouched.py": "v2 too\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "settings.ini"), "utf8")).toBe("workers = 4\n");
    const warnings = run.stderr.split("\n").filter((l) => l.startsWith("myapp: WARNING: "));
    // Before: no WARNING at all.
    expect(warnings, run.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^myapp: WARNING: 2 file\(s\) ship installed were changed on this host since, and this update replaced settings\.ini and removed legacy\.py \(the release no longer ships them\): the changes made here are no longer in the app; their copies are in (\S+)\/files /,
    );
    expect(warnings[0]).not.toMatch(/touched\.py|untouched\.py|app\.py/);
    const report = JSON.parse(run.stdout) as { apps: { warnings: string[] }[] };
    expect(report.apps[0]?.warnings).toEqual([expect.stringContaining("replaced settings.ini")]);
    const copies = /copies are in (\S+) /.exec(warnings[0] ?? "")?.[1] ?? "";
    expect(await readFile(join(copies, "settings.ini"), "utf8")).toBe("workers = 16  # hotfix\n");
    expect(await readFile(join(copies, "legacy.py"), "utf8")).toBe("patched by hand\n");

    // A plain update of files nobody changed here says nothing.
    await app.release("v3", 'version: "3.0.0"\n', {
      "app.py": "v3\n",
      "settings.ini": "workers = 8\n",
      "untouched.py": "v3 too\n",
    });
    const quiet = await runShip(["--config", app.config, "--force"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain("WARNING");
  });

  it("a file the operator made a symlink is a change too: named when the update replaces or removes it, and put back by --rollback", async () => {
    // Before: only regular files were judged, so the link went unsaid (the release's file took its place).
    await rm(join(app.appDir, "settings.ini"));
    await symlink("/etc/hostname", join(app.appDir, "settings.ini"));
    await rm(join(app.appDir, "legacy.py"));
    await symlink("untouched.py", join(app.appDir, "legacy.py"));
    await app.release("v2", 'version: "2.0.0"\n', {
      "app.py": "v2\n",
      "settings.ini": "workers = 4\n",
      "touched.py": "same\n",
      "untouched.py": "v1 too\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect((await lstat(join(app.appDir, "settings.ini"))).isFile()).toBe(true);
    const warnings = run.stderr.split("\n").filter((l) => l.startsWith("myapp: WARNING: "));
    expect(warnings, run.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^myapp: WARNING: 2 file\(s\) ship installed were changed on this host since, and this update replaced settings\.ini and removed legacy\.py /,
    );
    const copies = /copies are in (\S+) /.exec(warnings[0] ?? "")?.[1] ?? "";
    const back = await runShip(["--config", app.config, "--rollback", copies.replace(/\/files$/, "")]);
    expect(back.code, back.stderr).toBe(0);
    expect(await readlink(join(app.appDir, "settings.ini"))).toBe("/etc/hostname");
    expect(await readlink(join(app.appDir, "legacy.py"))).toBe("untouched.py");
  });
});
