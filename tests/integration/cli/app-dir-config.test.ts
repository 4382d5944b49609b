/**
 * Where ship.toml may put app directories, through the real CLI: two sources a run updates may not
 * fill one app_dir (they replaced each other's files and each reported its own version), nor two
 * sources have app_dirs one inside the other (the outer app's release replaced the inner's files), ship's own
 * directories stay outside every app, a local release is read from outside its app, `/` is no app,
 * and a source or hub URL is http(s). Each is exit 2 naming the keys, with nothing written, also
 * when a symlink (existing or dangling) is what puts one path inside the other. A trailing slash
 * added to app_dir keeps what ship knows is installed.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { bindMount, mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("app directories and URLs in ship.toml", () => {
  let app: LocalApp;
  let rel: string;
  const general = () =>
    `[general]\nstate_file = "${app.stateFile}"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n`;
  const local = (name: string, appDir: string, path = rel) =>
    `[sources.${name}]\ntype = "local"\npath = "${path}"\napp_dir = "${appDir}"\n`;
  const refused = async (toml: string, ...args: string[]) => {
    await writeFile(app.config, toml);
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    // Refused before anything was read or written.
    expect(existsSync(app.stateFile)).toBe(false);
    expect(await readdir(app.appDir)).toEqual([]);
    return run.stderr.trim();
  };

  beforeEach(async () => {
    app = await localApp();
    rel = await app.release("v1", 'version: "1.0.0"\n', { "one.txt": "1\n" });
  });
  afterEach(() => app.cleanup());

  it("two sources filling one app_dir (one spelled with a trailing slash) are refused in a run; --sources picks one", async () => {
    const other = await app.release("v2", 'version: "2.0.0"\n', { "two.txt": "2\n" });
    const toml = `${general()}${local("a", app.appDir)}${local("b", `${app.appDir}/`, other)}`;
    const message = await refused(toml);
    expect(message).toContain("sources.a.app_dir, sources.b.app_dir: all name");
    expect(message).toContain("--sources a");
    expect(message.split("\n")).toHaveLength(1);
    await refused(toml, "--check-only");

    const one = await runShip(["--config", app.config, "--sources", "b"]);
    expect(one.code, one.stderr).toBe(0);
    expect(await readdir(app.appDir)).toEqual(["two.txt"]);
  });

  it("two sources whose app_dirs are one directory by two paths (a bind mount) are refused, also one at a time", async (ctx) => {
    // Kept per path, each source's install index and backups took the other's files for files ship
    // had not installed: beta replaced alpha's, saying "the install index is gone", and a run of
    // both was not refused.
    const bound = join(app.root, "bound");
    await mkdir(bound);
    if (!bindMount(app.appDir, bound)) return ctx.skip();
    try {
      const other = await app.release("v2", 'version: "2.0.0"\n', { "two.txt": "2\n" });
      const toml = `${general()}${local("a", app.appDir)}${local("b", bound, other)}`;
      for (const args of [[], ["--sources", "b"], ["--list-backups"]]) {
        const message = await refused(toml, ...args);
        expect(message).toContain(
          `sources.a.app_dir, sources.b.app_dir: ${app.appDir} and ${bound} are one directory (a bind mount)`,
        );
        expect(message.split("\n")).toHaveLength(1);
      }
    } finally {
      unmountTmpfs(bound);
    }
  });

  it("two sources whose app_dirs nest are refused for every command that loads ship.toml, the daemon's start included", async () => {
    // Accepted before: a's release replaced b's plug/b.txt (exit 0, a warning), and a's
    // `preserve: false`, cleanup, backups and restores reached into b's directory.
    const plug = join(app.appDir, "plug");
    await mkdir(plug);
    await writeFile(join(plug, "b.txt"), "b1\n");
    const other = await app.release("v2", 'version: "2.0.0"\n', { "plug/b.txt": "from a\n" });
    await writeFile(join(app.root, "hub.token"), "x.y.z\n", { mode: 0o600 });
    const hub = `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${join(app.root, "hub.token")}"\nagent_id = "a1"\n`;
    // As written, through a symlink whose spelling puts b outside a, and by a bind mount's other name.
    const linked = join(app.root, "plug-link");
    await symlink(plug, linked);
    const bound = join(app.root, "plug-bound");
    await mkdir(bound);
    const mounted = bindMount(plug, bound);
    // Each path's other names are shown: a bind mount's too.
    const also = mounted ? ` (also ${bound} by a bind mount)` : "";
    const cases = [
      [plug, `${plug}${also}`],
      [linked, `${linked} (→ ${plug})${also}`],
    ];
    if (mounted) cases.push([bound, `${bound} (also ${plug} by a bind mount)`]);
    try {
      for (const [inner, shown] of cases) {
        const toml = `${general()}${hub}\n${local("a", app.appDir, other)}\n${local("b", inner ?? "", rel)}`;
        await writeFile(app.config, toml, { mode: 0o600 });
        // Every command for the spelling; one for the other names, which the same check compares.
        const commands =
          inner === plug
            ? [
                [],
                ["--sources", "a"],
                ["--sources", "b"],
                ["--check-only"],
                ["--list-backups"],
                ["--recover"],
                ["--rollback", join(app.root, "var/backups/a/a-20260101T000000Z")],
                ["agent"],
              ]
            : [["--sources", "a"]];
        for (const args of commands) {
          const run = await runShip(["--config", app.config, ...args]);
          expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
          const lines = run.stderr.trim().split("\n");
          // One line, placed at the first key's line and column in ship.toml.
          expect(lines, args.join(" ")).toHaveLength(1);
          expect(lines[0]).toMatch(
            new RegExp(`^ship: ${app.config}:\\d+:\\d+ sources\\.a\\.app_dir, sources\\.b\\.app_dir: `),
          );
          expect(lines[0]).toContain(
            `: ${shown} is inside ${app.appDir}: a's releases, cleanup, backups and restores would replace or delete b's files; give each app a directory of its own, neither inside the other`,
          );
          expect(existsSync(app.stateFile)).toBe(false);
          expect(await readdir(app.appDir)).toEqual(["plug"]);
          expect(await readdir(plug)).toEqual(["b.txt"]);
        }
      }
    } finally {
      if (mounted) unmountTmpfs(bound);
    }
    // A local release read from inside another app's directory: that app's updates replace it.
    const inA = join(app.appDir, "plug-release");
    await mkdir(inA);
    await writeFile(join(inA, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(
      app.config,
      `${general()}${local("a", app.appDir, other)}\n${local("b", join(app.root, "plug-app"), inA)}`,
    );
    for (const args of [["--sources", "b"], ["--list-backups"]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toContain(
        `sources.b.path, sources.a.app_dir: ${inA} and app_dir ${app.appDir} overlap: the release must be read from outside every app directory`,
      );
      expect(existsSync(app.stateFile)).toBe(false);
    }
    // Side by side they are two apps, each updated.
    const apart = join(app.root, "plug-app");
    await writeFile(app.config, `${general()}${local("a", app.appDir, other)}\n${local("b", apart, rel)}`);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(apart)).toEqual(["one.txt"]);
  });

  it("ship's own directories bound inside an app, and an app bound inside backup_dir, are refused naming the key", async (ctx) => {
    // Compared by their paths and symlinks only, a backup_dir, work_dir or state directory that is a
    // bind mount of a directory inside the app passed: a release holding that path overwrote ship's
    // backups, and ship pruned an app bound inside backup_dir.
    const inApp = join(app.appDir, "ship");
    const outside = join(app.root, "var");
    await mkdir(inApp);
    await mkdir(outside);
    if (!bindMount(inApp, outside)) return ctx.skip();
    const bound: string[] = [outside];
    try {
      const empty = async (toml: string) => {
        await writeFile(app.config, toml);
        const run = await runShip(["--config", app.config]);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        expect(await readdir(app.appDir)).toEqual(["ship"]);
        expect(await readdir(inApp)).toEqual([]);
        return run.stderr.trim();
      };
      const message = await empty(`${general()}${local("a", app.appDir)}`);
      expect(message).toContain(
        `general.state_file: its directory ${outside} (also ${inApp} by a bind mount) is inside sources.a.app_dir`,
      );
      expect(message).toContain(
        `general.backup_dir: ${outside}/backups (also ${inApp}/backups by a bind mount) is inside sources.a.app_dir`,
      );
      const elsewhere = `[general]\nstate_file = "${app.root}/state/state.json"\nbackup_dir = "${app.root}/backups"\n`;
      expect(await empty(`${elsewhere}work_dir = "${outside}/work"\n\n${local("a", app.appDir)}`)).toContain(
        `general.work_dir: ${outside}/work (also ${inApp}/work by a bind mount) is inside sources.a.app_dir`,
      );
      // The app bound inside backup_dir: ship prunes it there.
      const backups = join(app.root, "backups");
      await mkdir(join(backups, "a"), { recursive: true });
      await mkdir(join(app.root, "other"));
      if (!bindMount(join(app.root, "other"), join(backups, "a"))) return ctx.skip();
      bound.push(join(backups, "a"));
      expect(await empty(`${elsewhere}\n${local("a", join(app.root, "other"))}`)).toContain(
        `sources.a.app_dir: ${join(app.root, "other")} (also ${backups}/a by a bind mount) is inside general.backup_dir`,
      );
    } finally {
      for (const dir of bound.reverse()) unmountTmpfs(dir);
    }
  });

  it("ship's own directories inside an app, an app inside backup_dir, a local path overlapping its app and app_dir = / are refused naming the key", async () => {
    expect(
      await refused(
        `[general]\nstate_file = "${app.appDir}/.ship/state.json"\nbackup_dir = "${app.appDir}/backups"\n\n${local("a", app.appDir)}`,
      ),
    ).toMatch(
      /general\.state_file: its directory .*general\.backup_dir: .*backups is inside sources\.a\.app_dir /,
    );
    expect(await refused(`${general()}${local("a", `${app.root}/var/backups/app`)}`)).toContain(
      `sources.a.app_dir: ${app.root}/var/backups/app is inside general.backup_dir`,
    );
    expect(await refused(`${general()}${local("a", app.appDir, join(app.appDir, "release"))}`)).toContain(
      "sources.a.path:",
    );
    expect(await refused(`${general()}${local("a", app.appDir, app.root)}`)).toContain("overlap");
    expect(await refused(`${general()}${local("a", "/")}`)).toContain("sources.a.app_dir: must not be /");
  });

  it("the same refusals when a symlink, not the spelling, puts one path inside the other", async () => {
    const link = async (name: string, target: string) => {
      const path = join(app.root, name);
      await symlink(target, path);
      return path;
    };
    // An app_dir linked into backup_dir (dangling: backup_dir is not made yet) or to /.
    const intoBackups = await link("app-link", join(app.root, "var/backups/app"));
    expect(await refused(`${general()}${local("a", intoBackups)}`)).toContain(
      `sources.a.app_dir: ${intoBackups} (→ ${app.root}/var/backups/app) is inside general.backup_dir`,
    );
    expect(await refused(`${general()}${local("a", await link("root-link", "/"))}`)).toContain(
      "sources.a.app_dir: must not be / (→ /)",
    );
    // A work_dir whose parent is a link into the app.
    const inApp = await link("in-app", app.appDir);
    expect(await refused(`${general()}work_dir = "${inApp}/work"\n${local("a", app.appDir)}`)).toContain(
      "general.work_dir: ",
    );
    // backup_dir and the state file's directory linked inside the app.
    const linked = `[general]\nstate_file = "${inApp}/.ship/state.json"\nbackup_dir = "${inApp}/backups"\n\n${local("a", app.appDir)}`;
    expect(await refused(linked)).toMatch(
      /general\.state_file: its directory .*general\.backup_dir: .*in-app\/backups \(→ .*\/app\/backups\) is inside sources\.a\.app_dir /,
    );
    // A local release path that leads into the app or around it.
    expect(await refused(`${general()}${local("a", app.appDir, `${inApp}/release`)}`)).toContain(
      "sources.a.path:",
    );
    expect(await refused(`${general()}${local("a", app.appDir, await link("around", app.root))}`)).toContain(
      "overlap",
    );
    // Two sources of a run filling one app_dir through a link.
    expect(await refused(`${general()}${local("a", app.appDir)}${local("b", inApp)}`)).toContain(
      "sources.a.app_dir, sources.b.app_dir: all name",
    );
    expect(existsSync(join(app.root, "var"))).toBe(false);

    // A link that leads elsewhere is fine: the app is installed through it.
    await mkdir(join(app.root, "elsewhere"));
    const ok = await link("ok-link", join(app.root, "elsewhere"));
    await writeFile(app.config, `${general()}${local("a", ok)}`);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readdir(join(app.root, "elsewhere"))).toEqual(["one.txt"]);
  });

  it("a source URL or hub URL that is not http(s) is exit 2 naming the key, not a failed download", async () => {
    const http = `[sources.a]\ntype = "http"\nurl = "ftp://example.com/app.tar.gz"\napp_dir = "${app.appDir}"\n`;
    expect(await refused(`${general()}${http}`)).toMatch(
      /sources\.a\.url: must be an http:\/\/ or https:\/\/ URL \(got string "ftp:\/\/example\.com\/…"\)/,
    );
    const hub = `${local("a", app.appDir)}\n[hub]\nurl = "file:///tmp/hub"\ntoken_file = "${app.root}/token"\n`;
    expect(await refused(`${general()}${hub}`)).toMatch(/hub\.url: must be an http:\/\/ or https:\/\/ URL/);
  });

  it("a trailing slash added to app_dir keeps the install record, also one an older ship kept under that spelling", async () => {
    await writeFile(app.config, `${general()}${local("a", app.appDir)}`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(app.config, `${general()}${local("a", `${app.appDir}/`)}`);
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("up to date (1.0.0");

    // An older ship keyed the record by the spelling as written: it is still found.
    const apps = join(app.root, "var/apps");
    const [record] = await readdir(apps);
    const spelled = `${app.appDir}/`;
    const legacy = `${spelled.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "_")}-${createHash("sha256").update(spelled).digest("hex").slice(0, 8)}`;
    await rename(join(apps, record ?? ""), join(apps, legacy));
    const again = await runShip(["--config", app.config, "--check-only"]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("up to date (1.0.0");
  });

  it("app_dir changed to a bind mount of the same directory keeps the install record", async (ctx) => {
    // The record was kept per real path: the bound path said "the install index is gone", took the
    // installed files for the operator's and listed the earlier backups as not restorable.
    await writeFile(app.config, `${general()}${local("a", app.appDir)}`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const bound = join(app.root, "bound");
    await mkdir(bound);
    if (!bindMount(app.appDir, bound)) return ctx.skip();
    try {
      await writeFile(app.config, `${general()}${local("a", bound)}`);
      const check = await runShip(["--config", app.config, "--check-only"]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toContain("up to date (1.0.0");
      // The next release removes the file the first installed, and leaves the operator's.
      await writeFile(join(app.appDir, "mine.txt"), "user\n");
      const v2 = await app.release("v2", 'version: "2.0.0"\n', { "two.txt": "2\n" });
      await writeFile(app.config, `${general()}${local("a", bound, v2)}`);
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("updated 1.0.0 → 2.0.0");
      expect((await readdir(app.appDir)).sort()).toEqual(["mine.txt", "two.txt"]);
      const listed = await runShip(["--config", app.config, "--list-backups"]);
      expect(listed.code, listed.stdout + listed.stderr).toBe(0);
      expect(listed.stdout).not.toContain("NOT RESTORABLE");
    } finally {
      unmountTmpfs(bound);
    }
  });

  it("app_dir changed to a bind mount keeps the install record when a mount once made on the app is hidden by a later one over its parent", async (ctx) => {
    // The deepest mount point on a path was taken for the one it is seen through: the app's old
    // tmpfs, hidden since by a bind over the app's parent, made the app's own path no name of the
    // bound one, and the bound app_dir lost ship's record of what it installed.
    await writeFile(app.config, `${general()}${local("a", app.appDir)}`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const bound = join(app.root, "bound");
    await mkdir(bound);
    const mounted: string[] = [];
    try {
      if (!mountTmpfs(app.appDir, "1m")) return ctx.skip();
      mounted.push(app.appDir);
      if (!bindMount(app.root, app.root)) return ctx.skip();
      mounted.push(app.root);
      if (!bindMount(app.appDir, bound)) return ctx.skip();
      mounted.push(bound);
      await writeFile(app.config, `${general()}${local("a", bound)}`);
      const check = await runShip(["--config", app.config, "--check-only"]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toContain("up to date (1.0.0");
      const listed = await runShip(["--config", app.config, "--list-backups"]);
      expect(listed.code, listed.stdout + listed.stderr).toBe(0);
      expect(listed.stdout).not.toContain("NOT RESTORABLE");
    } finally {
      for (const dir of mounted.reverse()) unmountTmpfs(dir);
    }
  });
});
