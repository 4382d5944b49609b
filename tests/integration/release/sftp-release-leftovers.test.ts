/**
 * `ship release sftp` that fails after it began writing: the server's disk fills mid-upload. The
 * half-written `.NAME.partial` stayed in the release directory (hidden, never read by agents, but
 * holding the disk the server had run out of). Real sshd, the remote directory a real 64 KiB tmpfs.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { runRelease } from "./run-cli.js";

describe.skipIf(!hasProgram("sshd"))("ship release sftp: an upload the server could not finish", () => {
  let dir: string;
  let sshd: SshdServer;
  let remote: string;
  let mounted = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sftp-release-leftovers-"));
    sshd = await startSshd(join(dir, "sshd"));
    remote = join(dir, "remote");
    await mkdir(remote);
    mounted = mountTmpfs(remote, "64k");
  });
  afterAll(async () => {
    await sshd?.close();
    if (mounted) unmountTmpfs(remote);
    await rm(dir, { recursive: true, force: true });
  });

  it("a disk that fills mid-upload leaves no .partial behind, exit 1 naming the directory", async (ctx) => {
    if (!mounted) ctx.skip();
    const app = join(dir, "myapp");
    await mkdir(app);
    // Random bytes do not compress: the archive is bigger than the server's disk.
    await writeFile(join(app, "blob.bin"), randomBytes(256 * 1024));
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
    const result = await runRelease(
      app,
      ...["sftp", "1.0.0", "Hotfix", sshd.host, sshd.user, remote],
      ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile],
      ...["--known-hosts", sshd.knownHostsFile, "--app", "myapp", "--out", join(dir, "dist")],
    );
    // It named the hidden temporary file, exit 2 as if the release were at fault.
    expect(result.err).toMatch(
      new RegExp(
        `^ship release sftp: sftp://${sshd.user}@${sshd.host}:${sshd.port}${remote}: upload failed: the server stored \\d+ of the \\d+ bytes of myapp-1\\.0\\.0\\.tar\\.gz \\(is its disk full, or a quota reached\\?\\)\n$`,
      ),
    );
    expect(result.code).toBe(1);
    expect(await readdir(remote)).toEqual([]);
  });
});
