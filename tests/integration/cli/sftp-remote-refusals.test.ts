/**
 * An SFTP server that will not let the login user read the release (a directory it may not enter, a
 * file of mode 000), met by a real `ship` run against a real sshd. The run stops with exit 2 and one
 * line naming ship.toml, `remote_path` and the file, as it does for a file the server does not have;
 * the app is unchanged. Before: "_xstat: Permission denied /srv/app.tar.gz" (the library's internal
 * call, no key) when the stat was refused, and a bare "update failed at fetch: Permission denied"
 * when only the read was, both exit 1 as if a retry could help. Running as root, the refusals come
 * from internal-sftp -P (requests the server answers "permission denied"), as a real mode would.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const archive = gzipSync(
  buildTar([
    { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
    { path: "app.txt", body: "v2\n" },
  ]),
);

describe.skipIf(!hasProgram("sshd"))("an SFTP release the server will not let ship read (real sshd)", () => {
  let root: string;
  let sshd: SshdServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-refused-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "v1\n");
    await mkdir(join(root, "releases"));
    await writeFile(join(root, "releases/app.tar.gz"), archive);
  });
  afterEach(async () => {
    await sshd?.close();
    sshd = undefined;
    await rm(root, { recursive: true, force: true });
  });

  async function shipToml(server: SshdServer, extra = ""): Promise<string> {
    const file = join(root, "ship.toml");
    await writeFile(
      file,
      sftpShipToml(server, {
        root,
        remotePath: `${root}/releases/app.tar.gz`,
        name: "web",
        sourceKeys: extra,
      }),
    );
    return file;
  }

  it.each([
    ["the stat", "stat,lstat"],
    ["only the read (a file of mode 000)", "open"],
  ])(
    "%s refused: exit 2 naming remote_path and the file, app unchanged",
    async (_what, denied) => {
      sshd = await startSshd(join(root, "sshd"), { sftpDenied: denied });
      const config = await shipToml(sshd);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `web: ${config} sources.web.remote_path: sftp://${sshd.user}@127.0.0.1:${sshd.port}${root}/releases/app.tar.gz: permission denied on the server (the user ${sshd.user} may not read it or its directory)`,
      );
      expect(await readdir(join(root, "app"))).toEqual(["app.txt"]);
      expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
    },
    60_000,
  );

  it("a checksum file the server will not let ship read is named by its key, checksum", async () => {
    // stat is allowed (the release is found), open is not: the first file opened is the checksum.
    sshd = await startSshd(join(root, "sshd"), { sftpDenied: "open" });
    await writeFile(join(root, "releases/app.tar.gz.sha256"), "0".repeat(64));
    const config = await shipToml(sshd, `checksum = "${root}/releases/app.tar.gz.sha256"\n`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout.trim()).toBe(
      `web: ${config} sources.web.checksum: sftp://${sshd.user}@127.0.0.1:${sshd.port}${root}/releases/app.tar.gz.sha256: permission denied on the server (the user ${sshd.user} may not read it or its directory)`,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);
});
