/**
 * A `.sha256` beside an SFTP release that ship reads and then refuses (no line for the release's
 * name, a login page, another algorithm's sums), met by a real `ship` run against a real sshd. The
 * refusal ended the session while ssh2 was still closing the checksum file's handle: that close
 * failed ("No response from server") as an 'error' event no one listened for, and ship died with a
 * Node stack trace (exit 1), its lock left behind for the next run to take over. It must be the
 * one-line refusal (exit 2) a local or http source gives, the app untouched.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
const HEX = "a".repeat(64);

describe.skipIf(!hasProgram("sshd"))("an SFTP release whose .sha256 is refused (real sshd)", () => {
  let root: string;
  let sshd: SshdServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-companion-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "releases/with space"), { recursive: true });
    await writeFile(join(root, "releases/with space/myapp-latest.tar.gz"), archive);
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    [
      "several lines, none for the release",
      `${HEX}  myapp-1.0.0.tar.gz\n${HEX} *myapp-2.0.0.tar.gz\n`,
      /no sha256 for myapp-latest\.tar\.gz in the checksum file; it lists myapp-1\.0\.0\.tar\.gz, myapp-2\.0\.0\.tar\.gz/,
    ],
    ["a login page", "<!DOCTYPE html><html><body>Sign in</body></html>\n", /is an HTML or XML page/],
    [
      "an md5 list",
      "MD5 (myapp-latest.tar.gz) = 0123456789abcdef0123456789abcdef\n",
      /made with MD5, not sha256/,
    ],
  ])(
    "%s: one line, exit 2, no stack trace, the app and the lock as they were",
    async (_what, sums, said) => {
      const dir = join(root, `case-${Math.random().toString(36).slice(2)}`);
      await mkdir(join(dir, "app"), { recursive: true });
      await writeFile(join(dir, "app/app.txt"), "v1\n");
      await writeFile(join(root, "releases/with space/myapp-latest.tar.gz.sha256"), sums);
      const config = join(dir, "ship.toml");
      await writeFile(
        config,
        sftpShipToml(sshd, { root: dir, remotePath: `${root}/releases/with space/myapp-latest.tar.gz` }),
      );
      for (const attempt of [1, 2, 3]) {
        const run = await runShip(["--config", config]);
        expect(run.stderr, `run ${attempt}`).not.toMatch(/Unhandled 'error' event|node:events|at .*\.js:\d+/);
        expect(run.stderr, `run ${attempt}`).not.toMatch(/taking over a stale lock/);
        expect(run.code, `run ${attempt}: ${run.stderr}`).toBe(2);
        const lines = run.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(said);
        expect(lines[0]).toContain("myapp-latest.tar.gz.sha256");
      }
      expect(await readdir(join(dir, "app"))).toEqual(["app.txt"]);
      expect(await readFile(join(dir, "app/app.txt"), "utf8")).toBe("v1\n");
    },
    90_000,
  );
});
