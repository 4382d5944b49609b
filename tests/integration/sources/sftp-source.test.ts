import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { createSource } from "../../../agent/sources/create.js";
import type { SourceContext } from "../../../agent/sources/types.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { generateKey, type SshdServer, sftpSourceOf, startSshd } from "../../support/servers/sshd.js";
import { appRelease, buildTar } from "../../unit/sources/tar-builder.js";

const run = promisify(execFile);
const PASSPHRASE = "correct horse battery staple";

function releaseArchive(version: string): Buffer {
  return gzipSync(appRelease(version));
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** An mtime that had settled long before any check reads it (racy-rule.ts). */
const HOUR_AGO = new Date(Date.now() - 3_600_000);

describe.skipIf(!hasProgram("sshd"))("SftpSource against a real OpenSSH sshd", () => {
  let tmp: string;
  let sshd: SshdServer;
  let remote: string;
  let ctx: SourceContext;
  let lines: { level: string; msg: string; data?: Record<string, unknown> }[];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-sftp-"));
    sshd = await startSshd(join(tmp, "sshd"), { clientPassphrase: PASSPHRASE });
    await writeFile(join(tmp, "passphrase"), `${PASSPHRASE}\n`, { mode: 0o600 });
    await mkdir(join(tmp, "releases"));
    remote = join(tmp, "releases", "myapp-latest.tar.gz");
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await rm(`${remote}.sha256`, { force: true });
    lines = [];
    ctx = { stateDir: await mkdtemp(join(tmp, "state-")), log: memoryLogger(lines), retryDelayMs: 0 };
  });

  const source = (extra: Record<string, unknown> = {}) =>
    createSource(
      "deploy",
      sftpSourceOf(sshd, remote, { passphrase_file: join(tmp, "passphrase"), ...extra }),
      ctx,
    );
  const staging = () => mkdtemp(join(tmp, "stage-"));

  it("detects changes by size + mtime, downloads, verifies the .sha256 beside it and extracts", async () => {
    const v1 = releaseArchive("1.0.0");
    await writeFile(remote, v1);
    // Uploaded a while ago: a stat only vouches for an mtime that had settled when it was read.
    await utimes(remote, HOUR_AGO, HOUR_AGO);
    await writeFile(`${remote}.sha256`, `${sha(v1)}  myapp-latest.tar.gz\n`);
    const src = source();
    expect(await src.check()).toMatchObject({ available: true, current: undefined });

    const stage = await staging();
    const release = await src.fetch(stage);
    expect(release).toMatchObject({ id: `sha256:${sha(v1)}`, artifactSha256: sha(v1) });
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("app 1.0.0\n");
    expect(release.fileHashes?.get("app.txt")).toBe(sha(Buffer.from("app 1.0.0\n")));
    expect(release.fileHashes?.get("update-manifest.yaml")).toBe(
      sha(await readFile(join(stage, "update-manifest.yaml"))),
    );
    await src.commit(release);
    expect(await source().check()).toMatchObject({ available: false, current: "1.0.0" });

    // Same size, new mtime: a new upload of a same-sized release is still seen.
    await utimes(remote, new Date(), new Date(Date.now() + 60_000));
    expect(await source().check()).toMatchObject({ available: true, current: "1.0.0" });
    expect(JSON.stringify(lines)).not.toContain(PASSPHRASE);
  });

  it("leaves out of staging a file the app already holds, lists it, and writes it on demand", async () => {
    const body = gzipSync(
      buildTar([
        { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
        { path: "lib/held.txt", body: "held\n" },
        { path: "lib/new.txt", body: "new\n" },
      ]),
    );
    await writeFile(remote, body);
    const appDir = join(tmp, "sftp-app");
    await mkdir(join(appDir, "lib"), { recursive: true });
    await writeFile(join(appDir, "lib/held.txt"), "held\n");
    const st = await lstat(join(appDir, "lib/held.txt"));
    const heldSha = sha(Buffer.from("held\n"));
    const file = {
      sha256: heldSha,
      size: st.size,
      mode: st.mode & 0o7777,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ctimeMs: st.ctimeMs,
    };
    ctx = {
      ...ctx,
      installed: async () => ({ version: "1.0.0", appDir, files: IndexFiles.of({ "lib/held.txt": file }) }),
    };
    const stage = await staging();
    const release = await source().fetch(stage);
    expect(await readdir(join(stage, "lib"))).toEqual(["new.txt"]);
    expect(release.listing?.files.get("lib/held.txt")).toMatchObject({ type: "file", sha256: heldSha });
    await release.materialize?.(["lib/held.txt"]);
    expect(await readFile(join(stage, "lib/held.txt"), "utf8")).toBe("held\n");
  });

  it("refuses a release whose .sha256 beside it does not match; staging stays empty", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    await writeFile(`${remote}.sha256`, `${"f".repeat(64)}  myapp-latest.tar.gz\n`);
    const stage = await staging();
    const err = await source()
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/checksum mismatch/);
    expect(await readdir(stage)).toEqual([]);
  });

  it("takes the passphrase from an environment variable", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    process.env.SHIP_TEST_SFTP_PASS = PASSPHRASE;
    try {
      const src = source({ passphrase_file: undefined, passphrase_env: "SHIP_TEST_SFTP_PASS" });
      expect((await src.check()).available).toBe(true);
    } finally {
      delete process.env.SHIP_TEST_SFTP_PASS;
    }
  });

  it("refuses an unknown host key with a clear error, unless its fingerprint is configured", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    const empty = join(tmp, "known_hosts_empty");
    await writeFile(empty, "");
    const err = await source({ known_hosts: empty })
      .check()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toContain(sshd.hostFingerprint);
    expect((err as Error).message).toMatch(/not in .*known_hosts_empty/);

    const trusted = await source({ known_hosts: empty, host_fingerprint: sshd.hostFingerprint }).check();
    expect(trusted.available).toBe(true);
  });

  it("refuses a changed host key even when a fingerprint is configured", async () => {
    const other = await generateKey(join(tmp, "other_host_key"));
    const wrong = join(tmp, "known_hosts_wrong");
    await writeFile(wrong, `[127.0.0.1]:${sshd.port} ${other.publicKey}\n`);
    const err = await source({ known_hosts: wrong, host_fingerprint: sshd.hostFingerprint })
      .check()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/HOST KEY MISMATCH/);
  });

  it("accepts a hashed known_hosts entry (ssh-keygen -H)", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    const hashed = join(tmp, "known_hosts_hashed");
    await writeFile(hashed, await readFile(sshd.knownHostsFile));
    await run("ssh-keygen", ["-H", "-f", hashed]);
    expect(await readFile(hashed, "utf8")).toMatch(/^\|1\|/);
    expect((await source({ known_hosts: hashed }).check()).available).toBe(true);
  });

  it("a remote_path the server has no file at is bad input naming the key (exit 2), in check and fetch", async () => {
    const missing = join(tmp, "releases", "no-such-release.tar.gz");
    for (const step of ["check", "fetch"] as const) {
      const src = source({ remote_path: missing });
      const err = await (step === "check" ? src.check() : src.fetch(await staging())).catch(
        (e: unknown) => e,
      );
      expect(err, step).toBeInstanceOf(BadInputError);
      expect((err as BadInputError).exitCode).toBe(2);
      expect((err as Error).message).toBe(
        `ship.toml sources.deploy.remote_path: sftp://${sshd.user}@${sshd.host}:${sshd.port}${missing} is not on the server (no such file)`,
      );
    }
  });

  // "All configured authentication methods failed" was exit 1 on every run and named no key; git
  // over ssh and `ship release sftp` name theirs, exit 2.
  it("a key the server does not accept for the user is exit 2 naming key_filename, in check and fetch", async () => {
    const stranger = await generateKey(join(tmp, "stranger_key"));
    for (const step of ["check", "fetch"] as const) {
      const src = source({ key_filename: stranger.privateKeyFile, passphrase_file: undefined });
      const err = await (step === "check" ? src.check() : src.fetch(await staging())).catch(
        (e: unknown) => e,
      );
      expect(err, step).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toBe(
        `ship.toml sources.deploy.key_filename: sftp://${sshd.user}@${sshd.host}:${sshd.port} does not accept the key ${stranger.privateKeyFile} for the user ${sshd.user}: add its public key to that user's ~/.ssh/authorized_keys on the server (or the server takes no keys: ship logs in with a key only)`,
      );
    }
  });

  // A relative remote_path is the login's home directory's: the message glued it to the port
  // ("sftp://deploy@host:22releases/app.tar.gz").
  it("a relative remote_path not on the server is named under ~/, not glued to the port", async () => {
    const err = await source({ remote_path: "releases/no-such-release.tar.gz" })
      .check()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toBe(
      `ship.toml sources.deploy.remote_path: sftp://${sshd.user}@${sshd.host}:${sshd.port}/~/releases/no-such-release.tar.gz is not on the server (no such file)`,
    );
  });

  // The seed's myapp-latest.tar.gz as a link to the newest release: once that release is deleted,
  // "not on the server" named a file the operator's `ls` shows.
  it("a remote_path that is a symlink whose release is gone says so (exit 2), in check and fetch", async () => {
    const latest = join(tmp, "releases", "dangling-latest.tar.gz");
    await symlink("myapp-0.9.0.tar.gz", latest);
    try {
      for (const step of ["check", "fetch"] as const) {
        const src = source({ remote_path: latest });
        const err = await (step === "check" ? src.check() : src.fetch(await staging())).catch(
          (e: unknown) => e,
        );
        expect(err, step).toBeInstanceOf(BadInputError);
        expect((err as Error).message).toBe(
          `ship.toml sources.deploy.remote_path: sftp://${sshd.user}@${sshd.host}:${sshd.port}${latest} is a symlink to ${join(tmp, "releases", "myapp-0.9.0.tar.gz")}, which is not on the server (the release it pointed at was moved or deleted?)`,
        );
      }
    } finally {
      await rm(latest, { force: true });
    }
  });

  // Links that point at each other read as a link "to a file that is not on the server", which
  // sent the operator looking for a deleted release.
  it("a remote_path whose links go round in a loop says so, naming each link (exit 2)", async () => {
    const a = join(tmp, "releases", "loop-a.tar.gz");
    const b = join(tmp, "releases", "loop-b.tar.gz");
    await symlink("loop-b.tar.gz", a);
    await symlink(b, b.replace("loop-b", "loop-c"));
    await symlink("loop-c.tar.gz", b);
    const c = join(tmp, "releases", "loop-c.tar.gz");
    try {
      const err = await source({ remote_path: a })
        .check()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toBe(
        `ship.toml sources.deploy.remote_path: sftp://${sshd.user}@${sshd.host}:${sshd.port}${a} is a symlink that leads round in a loop (${a} -> ${b} -> ${c} -> ${b}), never to a file: point it at the release`,
      );
    } finally {
      await Promise.all([a, b, c].map((link) => rm(link, { force: true })));
    }
  });

  it.each([".sha256", ".sig"])(
    "a %s beside the release larger than 64 KiB is refused without reading it into memory",
    async (suffix) => {
      await writeFile(remote, releaseArchive("1.0.0"));
      // 64 MiB of zeros: before the cap the whole file was read into one Buffer.
      await run("truncate", ["-s", "64M", `${remote}${suffix}`]);
      try {
        const stage = await staging();
        ctx = { ...ctx, signatures: true };
        const err = await source()
          .fetch(stage)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VerificationError);
        expect((err as Error).message).toContain(
          `${remote}${suffix}: is larger than 64 KiB (65536 bytes), the most a checksum or signature file may hold`,
        );
        expect(await readdir(stage)).toEqual([]);
      } finally {
        await rm(`${remote}${suffix}`, { force: true });
      }
    },
  );

  it("a .sha256 beside the release whose only line is for another file: the mismatch names that file", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    await writeFile(`${remote}.sha256`, `${"f".repeat(64)}  myapp-0.9.0.tar.gz\n`);
    const err = await source()
      .fetch(await staging())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /checksum mismatch: .* \(the checksum file sftp:\/\/\S+\/myapp-latest\.tar\.gz\.sha256 has one line, for myapp-0\.9\.0\.tar\.gz, not myapp-latest\.tar\.gz: one left from another release, or made for another file\?\)$/,
    );
  });

  it("a .sha256 or .sig beside the release that is a symlink counts as the file, not as absent", async () => {
    const v1 = releaseArchive("1.0.0");
    await writeFile(remote, v1);
    // CI keeps versioned files and points the stable names at them: a wrong checksum behind the link
    // must refuse the release, not read as "no checksum" (it was skipped before).
    await writeFile(join(tmp, "releases", "v1.sha256"), `${"0".repeat(64)}  myapp-latest.tar.gz\n`);
    await symlink(join(tmp, "releases", "v1.sha256"), `${remote}.sha256`);
    const stage = await staging();
    const err = await source()
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toContain("checksum mismatch");
    expect(await readdir(stage)).toEqual([]);

    await rm(`${remote}.sha256`);
    await writeFile(join(tmp, "releases", "v1.sig"), "signature text\n");
    await symlink(join(tmp, "releases", "v1.sig"), `${remote}.sig`);
    try {
      ctx = { ...ctx, signatures: true };
      const release = await source().fetch(await staging());
      expect(await readFile(`${release.artifactPath}.sig`, "utf8")).toBe("signature text\n");
    } finally {
      await rm(`${remote}.sig`, { force: true });
    }
  });

  it.each([
    ["a directory", (path: string) => mkdir(path), "is not a regular file"],
    [
      "a dangling symlink",
      (path: string) => symlink(join(tmp, "gone.sig"), path),
      "cannot be read: it is a symlink to a missing file",
    ],
    [
      "empty",
      (path: string) => writeFile(path, ""),
      "is empty: the server has a signature file there but nothing in it",
    ],
  ])(
    "a .sig beside the release that is %s is an error naming it, not 'unsigned'",
    async (_what, make, message) => {
      await writeFile(remote, releaseArchive("1.0.0"));
      await make(`${remote}.sig`);
      try {
        ctx = { ...ctx, signatures: true };
        const err = await source()
          .fetch(await staging())
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VerificationError);
        expect((err as Error).message).toBe(
          `sftp://${sshd.user}@${sshd.host}:${sshd.port}${remote}.sig: ${message}`,
        );
      } finally {
        await rm(`${remote}.sig`, { recursive: true, force: true });
      }
    },
  );

  it("without [trust] keys (ctx.signatures unset) the .sig beside the release is not read", async () => {
    await writeFile(remote, releaseArchive("1.0.0"));
    await mkdir(`${remote}.sig`);
    try {
      const release = await source().fetch(await staging());
      await expect(lstat(`${release.artifactPath}.sig`)).rejects.toThrow();
    } finally {
      await rm(`${remote}.sig`, { recursive: true, force: true });
    }
  });

  it("a stat read by a run whose clock was ahead does not vouch for a same-size rewrite keeping its mtime", async () => {
    // Plain tars: releases whose versions have as many characters are the same size.
    const tar = (version: string) =>
      buildTar([{ path: "update-manifest.yaml", body: `version: "${version}"\n` }]);
    const second = new Date(Math.floor(Date.now() / 1000) * 1000);
    await writeFile(remote, tar("1.0.1"));
    await utimes(remote, second, second);
    const ahead = Date.now() + 3_600_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => ahead);
    try {
      const src = source();
      expect(await src.check()).toMatchObject({ available: true });
      await src.commit(await src.fetch(await staging()));
    } finally {
      clock.mockRestore();
    }
    await writeFile(remote, tar("1.0.2"));
    await utimes(remote, second, second);
    const src = source();
    expect(await src.check()).toMatchObject({ available: true, current: "1.0.1" });
    const stage = await staging();
    await src.fetch(stage);
    expect(await readFile(join(stage, "update-manifest.yaml"), "utf8")).toContain("1.0.2");
  });

  it("a new remote_path holding the installed archive is installed already, and recorded: the next check is up to date", async () => {
    const v1 = releaseArchive("1.0.0");
    await writeFile(remote, v1);
    const first = source();
    const release = await first.fetch(await staging());
    await first.commit(release);
    const moved = join(tmp, "releases", "mirror.tar.gz");
    await writeFile(moved, v1);
    await utimes(moved, HOUR_AGO, HOUR_AGO);
    ctx = { ...ctx, installedId: async () => ({ version: "1.0.0", releaseId: release.id }) };
    const again = source({ remote_path: moved });
    expect(await again.check()).toMatchObject({ available: true });
    const fetched = await again.fetch(await staging());
    expect(fetched).toMatchObject({ id: release.id, installedAlready: true });
    expect(await source({ remote_path: moved }).check()).toMatchObject({
      available: false,
      current: "1.0.0",
    });
  });

  it("a fetch goes on in its check's session; after close(), or once the server ended it, it logs in again", async () => {
    const v1 = releaseArchive("1.0.0");
    await writeFile(remote, v1);
    const logins = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const before = logins();
    const src = source();
    expect(await src.check()).toMatchObject({ available: true });
    expect((await src.fetch(await staging())).artifactSha256).toBe(sha(v1));
    expect(logins()).toBe(before + 1);

    expect(await src.check()).toMatchObject({ available: true });
    await src.close?.();
    expect((await src.fetch(await staging())).artifactSha256).toBe(sha(v1));
    expect(logins()).toBe(before + 3);

    // The server ends the check's session (its per-connection sshd killed): the fetch logs in anew,
    // and nothing is printed (ssh2-sftp-client's own listeners wrote to stdout, into --json).
    const printed = [vi.spyOn(console, "log"), vi.spyOn(console, "error")];
    expect(await src.check()).toMatchObject({ available: true });
    const master = (await readFile(join(tmp, "sshd", "sshd.pid"), "utf8")).trim();
    const sessions = () =>
      run("pgrep", ["-P", master]).then(
        (r) => r.stdout.split("\n").filter((pid) => pid !== ""),
        () => [],
      );
    const held = await sessions();
    expect(held.length).toBeGreaterThan(0);
    for (const pid of held) process.kill(Number(pid), "SIGKILL");
    // Gone, their sockets closed by the kernel; the client reads the close while this polls.
    await expect.poll(sessions).toEqual([]);
    expect((await src.fetch(await staging())).artifactSha256).toBe(sha(v1));
    expect(logins()).toBe(before + 5);
    for (const spy of printed) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });
});
