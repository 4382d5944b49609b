/**
 * What ship keeps of a config on the host is no easier to read than the config: a release's
 * `config.toml` shipped 600 because it holds a password, merged with the operator's own password
 * (also 600), was copied into ship's state directory 644 (the merge's base), where every local user
 * could read it; so was the log ship created, holding what a migration printed. Ship runs as root
 * here; another local user (nobody) tries to read every file ship wrote, as a real process.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { asRoot, NOBODY } from "../../support/as-nobody.js";
import { runShip } from "../../support/ship-cli.js";

const run = promisify(execFile);

/** Every file under `dir` (not through symlinks). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

describe.runIf(asRoot)("files ship keeps of a secret config (real ship, read as another user)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-state-modes-"));
    // The layout of /var/lib/ship: directories other users may enter.
    await chmod(root, 0o755);
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function release(name: string, version: string, password: string): Promise<void> {
    const dir = join(root, "releases", name);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "update-manifest.yaml"),
      `version: "${version}"\nfiles:\n  "config.toml": {action: merge_toml}\n` +
        // A migration that prints its connection string, as many do: it reaches ship's log.
        `hooks:\n  post_update: ["echo connecting to postgres://app:password-in-hook-output@db/app"]\n`,
    );
    await writeFile(join(dir, "config.toml"), `port = ${version.slice(0, 1)}\npassword = "${password}"\n`);
    await chmod(join(dir, "config.toml"), 0o600);
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n` +
        `min_interval_hours = 0\n\n[general.logging]\nfile = "${root}/var/log/ship.log"\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
    );
    const result = await runShip(["--config", join(root, "ship.toml")]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }

  it("no file under the state, backup, log or app directory gives another user a password", async () => {
    await release("v1", "1.0.0", "release-password-one");
    await writeFile(join(root, "app/config.toml"), 'port = 1\npassword = "operator-password-kept"\n');
    await chmod(join(root, "app/config.toml"), 0o600);
    await release("v2", "2.0.0", "release-password-two");
    expect(await readFile(join(root, "app/config.toml"), "utf8")).toContain("operator-password-kept");

    const written = [...(await filesUnder(join(root, "var"))), ...(await filesUnder(join(root, "app")))];
    const holding: string[] = [];
    for (const file of written) if (/password-/.test(await readFile(file, "utf8"))) holding.push(file);
    // The release's copies are kept as merge bases, the operator's in the backup: what is tried.
    expect(holding.filter((f) => f.includes("/var/apps/")).length).toBeGreaterThan(0);
    expect(holding.filter((f) => f.includes("/var/backups/")).length).toBeGreaterThan(0);
    expect(holding).toContain(join(root, "var/log/ship.log"));

    // Each read by nobody, as its own process: what `cat` could print.
    const readable: string[] = [];
    for (const file of holding) {
      const read = await run("cat", [file], { uid: NOBODY.uid, gid: NOBODY.gid }).catch(() => undefined);
      if (read !== undefined && /password-/.test(read.stdout)) readable.push(file.slice(root.length));
    }
    expect(readable).toEqual([]);

    // Nor its sha256 (the install index records the merged file's), which confirms a guessed
    // password offline: the rest of the file is the release's, known to whoever can fetch it.
    const hash = createHash("sha256")
      .update(await readFile(join(root, "app/config.toml")))
      .digest("hex");
    const hashed: string[] = [];
    for (const file of written.filter((f) => f.includes("/var/"))) {
      const read = await run("cat", [file], { uid: NOBODY.uid, gid: NOBODY.gid }).catch(() => undefined);
      if (read?.stdout.includes(hash) === true) hashed.push(file.slice(root.length));
    }
    expect(hashed).toEqual([]);
  });

  it("a config kept secret by its app directory's mode (0750, the file 644) stays out of other users' reach", async () => {
    // The common web layout: /opt/myapp is root:www-data 0750 and its files 644, so only the app's
    // group reads config.toml. Ship's copies of it (staging while the run lasts, the backup after)
    // sat 644 in directories every user may enter.
    const app = join(root, "app");
    await chmod(app, 0o750);
    const dir = join(root, "releases");
    await mkdir(dir, { mode: 0o700 });
    const staged = join(root, "var/work/myapp.staging/config.toml");
    const seen = join(root, "staged-as-nobody");
    const config = async (version: string, password: string) => {
      await writeFile(
        join(dir, "update-manifest.yaml"),
        `version: "${version}"\nhooks:\n  pre_update: ["setpriv --reuid=${NOBODY.uid} --regid=${NOBODY.gid} --clear-groups cat ${staged} > ${seen} 2>&1 || true"]\n`,
      );
      await writeFile(join(dir, "config.toml"), `password = "${password}"\n`);
      await chmod(join(dir, "config.toml"), 0o644);
    };
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n` +
        `work_dir = "${root}/var/work"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${app}"\n`,
    );
    const releases: [string, string][] = [
      ["1.0.0", "password-one"],
      ["2.0.0", "password-two"],
    ];
    for (const [version, password] of releases) {
      await config(version, password);
      const result = await runShip(["--config", join(root, "ship.toml")]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      // The hook ran while the release was staged: what nobody's cat printed then.
      expect(await readFile(seen, "utf8")).toMatch(/Permission denied/);
    }
    const backups = (await filesUnder(join(root, "var/backups"))).filter((f) => f.endsWith("/config.toml"));
    expect(backups.length).toBe(1);
    expect(await readFile(backups[0] ?? "", "utf8")).toContain("password-one");
    const read = await run("cat", [backups[0] ?? ""], { uid: NOBODY.uid, gid: NOBODY.gid }).catch(
      (error: { stderr: string }) => error,
    );
    expect(read.stderr).toMatch(/Permission denied/);
    expect(read).not.toHaveProperty("stdout", expect.stringContaining("password-one"));
  });

  // Rollback commands run in $SHIP_RELEASE_DIR: an overlay of the undone release over the app where
  // ship may mount (the overlay's root was 755), else a copy of the app (made 755): either way the
  // app's whole tree, out from under its 0750. An app path holding "," cannot be mounted: the copy.
  it.each([
    ["an overlay", "app"],
    ["a copy", "app,copy"],
  ])(
    "the undone release's files the rollback commands see ($SHIP_RELEASE_DIR, %s) are as closed as the app",
    async (_how, name) => {
      const app = join(root, name);
      await mkdir(app, { recursive: true });
      // root:nogroup 0750: nogroup (the app's group, as www-data) reads it, daemon (any other) does not.
      await chown(app, 0, NOBODY.gid);
      await chmod(app, 0o750);
      const dir = join(root, "releases");
      await mkdir(dir, { mode: 0o700 });
      const seen = join(root, "seen-as-nobody");
      const seenByGroup = join(root, "seen-by-the-app-group");
      const as = (gid: number) => `setpriv --reuid=${NOBODY.uid} --regid=${gid} --clear-groups cat`;
      const release = async (version: string, password: string, failing: string) => {
        await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n${failing}`);
        await writeFile(join(dir, "config.toml"), `password = "${password}"\n`);
        await chmod(join(dir, "config.toml"), 0o644);
        return runShip(["--config", join(root, "ship.toml")]);
      };
      await writeFile(
        join(root, "ship.toml"),
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n` +
          `min_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${app}"\n`,
      );
      expect((await release("1.0.0", "password-one", "")).code).toBe(0);
      const failed = await release(
        "2.0.0",
        "password-two",
        "post_update_tests: [{name: health, command: 'exit 1'}]\n" +
          `hooks:\n  rollback: ['${as(1)} "$SHIP_RELEASE_DIR/config.toml" "$SHIP_RELEASE_DIR.layers/kept/config.toml" > ${seen} 2>&1 || true', ` +
          `'${as(NOBODY.gid)} "$SHIP_RELEASE_DIR/config.toml" > ${seenByGroup} 2>&1 || true']\n`,
      );
      expect(failed.code, failed.stdout + failed.stderr).toBe(1);
      expect(await readFile(join(app, "config.toml"), "utf8")).toContain("password-one");
      const read = await readFile(seen, "utf8");
      expect(read).toMatch(/Permission denied/);
      expect(read).not.toMatch(/password-/);
      // The app's own group still reads the failing release's files, as it reads the app's.
      expect(await readFile(seenByGroup, "utf8")).toBe('password = "password-two"\n');
    },
  );
});
