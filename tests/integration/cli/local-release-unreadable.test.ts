/**
 * A local release (directory or archive) holding something ship's user may not read: the run said
 * a bare "EACCES: permission denied, open '…'" with exit 1, as if an update had failed and been
 * rolled back, and an archive it may not open crashed ship with an unhandled 'error' event and a
 * stack trace. Now: exit 2, one line naming the key, the path, its owner and ship's user, nothing
 * installed — as sftp's "permission denied on the server". Real CLI run as nobody (root only).
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as tarCreate } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const NOBODY = { uid: 65534, gid: 65534 };

describe.skipIf(process.getuid?.() !== 0)("a local release ship's user may not read", () => {
  let root: string;
  let config: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-local-unreadable-"));
    await chmod(root, 0o755);
    for (const dir of ["app", "var"]) {
      await mkdir(join(root, dir));
      await chown(join(root, dir), NOBODY.uid, NOBODY.gid);
    }
    await mkdir(join(root, "rel/sub"), { recursive: true });
    await writeFile(join(root, "rel/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "rel/a.txt"), "a\n");
    await writeFile(join(root, "rel/sub/b.txt"), "b\n");
    await tarCreate({ gzip: true, file: join(root, "rel.tar.gz"), cwd: join(root, "rel") }, ["."]);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function runAsNobody(path: string, ...flags: string[]) {
    config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${path}"\napp_dir = "${root}/app"\n`,
    );
    return runShip(["--config", config, ...flags], { user: NOBODY, timeoutMs: 30_000 });
  }

  const line = (what: string, path: string, mode: string) =>
    `myapp: ${config} sources.myapp.path: ${what} ${path}: permission denied (EACCES): it is owned by uid 0, mode ${mode}, and ship runs as nobody; let that user read the release`;

  it.each([
    ["a file of mode 000", "rel/sub/b.txt", 0o000, "cannot open", "000"],
    ["a directory of mode 700", "rel/sub", 0o700, "cannot read directory", "700"],
  ])(
    "a release directory with %s: exit 2 naming it, nothing installed",
    async (_what, rel, mode, verb, shown) => {
      await chmod(join(root, rel), mode);
      const run = await runAsNobody(join(root, "rel"));
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout.trim()).toBe(line(verb, join(root, rel), shown));
      expect(await readdir(join(root, "app"))).toEqual([]);
    },
  );

  it("an archive of mode 600: exit 2 naming it (it crashed ship), --check-only too", async () => {
    await chmod(join(root, "rel.tar.gz"), 0o600);
    const run = await runAsNobody(join(root, "rel.tar.gz"));
    expect(run.stderr).not.toContain("Unhandled 'error' event");
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout.trim()).toBe(line("cannot open", join(root, "rel.tar.gz"), "600"));
    expect(await readdir(join(root, "app"))).toEqual([]);

    const check = await runAsNobody(join(root, "rel.tar.gz"), "--check-only");
    expect(check.code, check.stderr).toBe(2);
    expect(check.stdout).toContain(line("cannot open", join(root, "rel.tar.gz"), "600"));
  });
});
