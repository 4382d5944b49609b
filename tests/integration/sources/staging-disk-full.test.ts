/**
 * A full disk (a real 1 MB tmpfs) met by each source's writes of a release, through the built CLI:
 * git's `cat-file --batch` blobs into work_dir (writeSync), an https download into the source's
 * `downloads/` (a file handle's writev) and an SFTP download there (a write stream). A write on a
 * descriptor names no file: each reached the operator as a bare "no space left on device (ENOSPC)"
 * (the https one as "cannot write the download of URL"); now each line names the file.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpsServer } from "../../support/servers/http-server.js";
import { sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

let root: string;
const mounts: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-staging-disk-full-"));
});
afterAll(async () => {
  for (const dir of mounts) unmountTmpfs(dir);
  await rm(root, { recursive: true, force: true });
});

/** A 1 MB tmpfs on `dir` (made first); false when this host cannot mount one. */
async function fullAt(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  if (!mountTmpfs(dir, "1m")) return false;
  mounts.push(dir);
  return true;
}

/** The run failed with one line naming the file under `full` it could not write; the app is as it was. */
async function expectNamedFailure(config: string, appDir: string, full: string): Promise<void> {
  const before = (await readdir(appDir)).sort();
  const run = await runShip(["--config", config]);
  expect(run.code, run.stdout + run.stderr).toBe(1);
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  expect(line).toMatch(new RegExp(`cannot write ${full}/\\S+.*: no space left on device \\(ENOSPC\\)`));
  expect(line).toContain("the app's files were not changed");
  expect((await readdir(appDir)).sort()).toEqual(before);
}

/** A gzipped release whose one big file does not compress: a 3 MB download. */
const archive = (version: string) =>
  gzipSync(
    buildTar([
      { path: `app-${version}/big.bin`, body: randomBytes(3_000_000) },
      { path: `app-${version}/update-manifest.yaml`, body: `version: "${version}"\n` },
    ]),
  );

describe("a full disk met by each source's writes of a release (real tmpfs, real CLI)", () => {
  it.skipIf(!hasProgram("git"))(
    "git: the cat-file blob it could not write is named",
    async (ctx) => {
      const dir = join(root, "git");
      const work = join(dir, "work");
      if (!(await fullAt(work))) return ctx.skip();
      const clone = join(dir, "clone");
      const app = join(dir, "app");
      await mkdir(clone);
      await mkdir(app);
      const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], {
          cwd: clone,
          stdio: "pipe",
        });
      git("init", "-q", "-b", "main", ".");
      git("init", "-q", "--bare", "-b", "main", join(dir, "remote.git"));
      git("remote", "add", "origin", join(dir, "remote.git"));
      const commit = async (version: string, files: Record<string, string | Buffer>) => {
        await writeFile(join(clone, "update-manifest.yaml"), `version: "${version}"\n`);
        for (const [name, body] of Object.entries(files)) await writeFile(join(clone, name), body);
        git("add", "-A");
        git("commit", "-qm", version);
        git("push", "-q", "origin", "main");
      };
      await commit("1.0.0", { "app.txt": "v1\n" });
      const config = join(dir, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nwork_dir = "${work}"\nmin_interval_hours = 0\n\n` +
          `[sources.myapp]\ntype = "git"\nlocal_path = "${clone}"\napp_dir = "${app}"\nbranch = "main"\n`,
      );
      const first = await runShip(["--config", config]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      // An update from the installed commit writes only the changed blobs, through cat-file --batch.
      await commit("2.0.0", { "big.bin": randomBytes(3_000_000) });
      await expectNamedFailure(config, app, work);
    },
    60_000,
  );

  // The artifact (in the source's state directory, not work_dir) is what fills its disk.
  it.skipIf(!hasProgram("openssl"))(
    "https: the download's file is named",
    async (ctx) => {
      const dir = join(root, "https");
      const downloads = join(dir, "var/sources/myapp/downloads");
      if (!(await fullAt(downloads))) return ctx.skip();
      const app = join(dir, "app");
      await mkdir(app);
      const routes = new Map<string, FileRoute>([["/app.tar.gz", { body: archive("1.0.0") }]]);
      const server = await startHttpsServer(fileRoutes(routes), await makeTestCert(dir));
      try {
        const config = join(dir, "ship.toml");
        await writeFile(
          config,
          `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
            `[sources.myapp]\ntype = "https"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${app}"\nca_file = "${dir}/ca.pem"\n`,
        );
        await expectNamedFailure(config, app, downloads);
      } finally {
        await server.close();
      }
    },
    60_000,
  );

  it.skipIf(!hasProgram("sshd"))(
    "sftp: the download's file is named",
    async (ctx) => {
      const dir = join(root, "sftp");
      const downloads = join(dir, "var/sources/myapp/downloads");
      if (!(await fullAt(downloads))) return ctx.skip();
      await mkdir(join(dir, "app"));
      const sshd = await startSshd(join(dir, "sshd"));
      try {
        const remote = join(dir, "app.tar.gz");
        await writeFile(remote, archive("1.0.0"));
        const config = join(dir, "ship.toml");
        await writeFile(config, sftpShipToml(sshd, { root: dir, remotePath: remote }));
        await expectNamedFailure(config, join(dir, "app"), downloads);
      } finally {
        await sshd.close();
      }
    },
    60_000,
  );
});
