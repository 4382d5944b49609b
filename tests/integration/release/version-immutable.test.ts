// A version is immutable on every path that publishes under it, as the hub's 409 says: `ship
// release sftp` renamed other bytes over a version already on the server, and `ship release http`
// over one already in --out, so hosts already on it kept the old content while new hosts installed
// the new under the same version (#7's mix-and-match). A retried job (the build is reproducible)
// changes nothing and says so.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Every file in `dir` with its bytes and inode: what "nothing changed" compares. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    files[name] = `${(await stat(path)).ino}:${sha256(await readFile(path))}`;
  }
  return files;
}

let dir: string;
let app: string;
// A retried CI job gets the same SOURCE_DATE_EPOCH (the commit's time): the same bytes.
const env = { SOURCE_DATE_EPOCH: "1700000000" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-version-immutable-"));
  app = join(dir, "myapp");
  await mkdir(join(app, "src"), { recursive: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ship release http: an --out that already holds the version (real ship process)", () => {
  const out = () => join(dir, "http-dist");
  const http = () =>
    runShip(["release", "-C", app, "http", "1.0.0", "Hotfix", "--app", "myapp", "--out", out()], { env });

  it("the same input again is a no-op that says so; other bytes are exit 2 naming both sha256s, --out untouched", async () => {
    await writeFile(join(app, "src/main.py"), "print('v1')\n");
    const first = await http();
    expect(first.code, first.stderr).toBe(0);
    const published = await snapshot(out());
    const v1 = sha256(await readFile(join(out(), "myapp-1.0.0.tar.gz")));

    const retry = await http();
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(
      `unchanged ${join(out(), "myapp-1.0.0.tar.gz")}: it already holds these bytes (sha256 ${v1}), built again from the same input`,
    );
    expect(await snapshot(out())).toEqual(published);

    await writeFile(join(app, "src/main.py"), "print('v1, changed')\n");
    const other = await http();
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      new RegExp(
        `(^|\\n)ship release http: ${join(out(), "myapp-1\\.0\\.0\\.tar\\.gz")}: version 1\\.0\\.0 is already published there with sha256 ${v1}, this build's is (?!${v1})[0-9a-f]{64}: .*bump the version \\(ship release bump patch\\).*nothing was written\\n$`,
      ),
    );
    expect(await snapshot(out())).toEqual(published);
  }, 120_000);
});

describe.skipIf(!hasProgram("sshd"))(
  "ship release sftp: a server that already holds the version (real sshd)",
  () => {
    let sshd: SshdServer;
    let remote: string;
    const sftp = (...extra: string[]) =>
      runShip(
        [
          ...["release", "-C", app, "sftp", "2.0.0", "Hotfix", sshd.host, sshd.user, remote],
          ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile],
          ...["--known-hosts", sshd.knownHostsFile, "--app", "myapp", "--latest", "myapp-latest.tar.gz"],
          ...extra,
        ],
        { env },
      );

    beforeAll(async () => {
      sshd = await startSshd(join(dir, "sshd"));
      remote = join(dir, "remote/releases");
    });
    afterAll(async () => {
      await sshd?.close();
    });

    it("the same build again uploads nothing and says so; other bytes are exit 2 naming both sha256s, the server untouched", async () => {
      await writeFile(join(app, "src/main.py"), "print('v2')\n");
      // Each run builds into its own --out, as a fresh CI checkout does: only the server holds the version.
      const first = await sftp("--out", join(dir, "sftp-dist-1"));
      expect(first.code, first.stderr).toBe(0);
      const published = await snapshot(remote);
      const v2 = sha256(await readFile(join(remote, "myapp-2.0.0.tar.gz")));

      const retry = await sftp("--out", join(dir, "sftp-dist-2"));
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.stdout).toContain(
        `unchanged ${join(remote, "myapp-2.0.0.tar.gz")}: the server already holds these bytes (sha256 ${v2}): nothing uploaded`,
      );
      expect(retry.stdout).not.toMatch(/^uploaded /m);
      expect((await snapshot(remote))["myapp-2.0.0.tar.gz"]).toBe(published["myapp-2.0.0.tar.gz"]);

      await writeFile(join(app, "src/main.py"), "print('v2, changed')\n");
      const other = await sftp("--out", join(dir, "sftp-dist-3"));
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(
        new RegExp(
          `(^|\\n)ship release sftp: sftp://${sshd.user}@${sshd.host}:${sshd.port}${join(remote, "myapp-2\\.0\\.0\\.tar\\.gz")}: version 2\\.0\\.0 is already published there with sha256 ${v2}, this build's is (?!${v2})[0-9a-f]{64}: .*bump the version \\(ship release bump patch\\).*nothing was uploaded\\n$`,
        ),
      );
      // Neither the version's files nor the stable name moved, and no .partial is left.
      expect(Object.keys(await snapshot(remote))).toEqual(Object.keys(published));
      expect(sha256(await readFile(join(remote, "myapp-2.0.0.tar.gz")))).toBe(v2);
      expect(sha256(await readFile(join(remote, "myapp-latest.tar.gz")))).toBe(v2);
    }, 180_000);
  },
);
