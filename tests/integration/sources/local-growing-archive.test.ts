/**
 * A local release archive still being written (the seed's `scp myapp.tar.gz host:/srv/releases/`,
 * a `cp` from a mount) is a release not settled yet: exit 1, nothing installed, the next run tries
 * again — as sftp says of a remote file that grows. The extraction met the end of what was written
 * so far and said "not a valid tar archive: unexpected end of file", exit 2 as for a broken file,
 * although the file changed under the read. Real CLI, a real writer appending to the file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("local source: the archive is still being written", () => {
  let root: string;
  let writer: ChildProcess | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-local-growing-"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "build/myapp-1.0.0"), { recursive: true });
  });
  afterEach(async () => {
    if (writer?.pid !== undefined && writer.exitCode === null) writer.kill("SIGKILL");
    await rm(root, { recursive: true, force: true });
  });

  it("is exit 1 naming the file, with nothing installed", async () => {
    await writeFile(join(root, "build/myapp-1.0.0/update-manifest.yaml"), 'version: "1.0.0"\n');
    // Random bytes do not compress: the archive is as long as they are, and slow to write out.
    await writeFile(join(root, "build/myapp-1.0.0/blob.bin"), randomBytes(8 << 20));
    const whole = join(root, "build/myapp-1.0.0.tar.gz");
    await create({ gzip: true, file: whole, cwd: join(root, "build") }, ["myapp-1.0.0"]);
    const release = join(root, "myapp-1.0.0.tar.gz");
    // 4 KiB every 2 ms, as a slow copy: seconds longer than the run below takes.
    const copy = `const fs=require("node:fs");const d=fs.readFileSync(process.argv[1]);const fd=fs.openSync(process.argv[2],"w");let at=0;
      const step=()=>{if(at>=d.length)return;fs.writeSync(fd,d,at,Math.min(4096,d.length-at));at+=4096;setTimeout(step,2)};step();`;
    writer = spawn(process.execPath, ["-e", copy, whole, release], { stdio: "ignore" });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/app"\ntype = "local"\npath = "${release}"\n`,
    );
    while ((await readdir(root)).includes("myapp-1.0.0.tar.gz") === false)
      await new Promise((r) => setTimeout(r, 5));
    const run = await runShip(["--config", config]);
    expect(writer.exitCode, "the copy was still running when the run ended").toBe(null);
    writer.kill("SIGKILL");
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      `myapp: update failed at fetch: ${release}: the archive changed while it was being read (still being written?); the next run tries again`,
    );
    expect(await readdir(join(root, "app"))).toEqual([]);
  }, 60_000);
});
