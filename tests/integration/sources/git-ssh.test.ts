import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import { GitSource as GitSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { generateKey, type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { commitFiles, git, makeRepos, type Repos } from "./git-repos.js";

describe.skipIf(!hasProgram("sshd") || !hasProgram("git"))(
  "GitSource over ssh:// through a real sshd",
  () => {
    let tmp: string;
    let sshd: SshdServer;
    let repos: Repos;
    let url: string;

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "ship-git-ssh-"));
      sshd = await startSshd(join(tmp, "sshd"));
      repos = await makeRepos(join(tmp, "repos"));
      url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${repos.bare}`;
      await git(repos.clone, "remote", "set-url", "origin", url);
    });
    afterAll(async () => {
      await sshd?.close();
      await rm(tmp, { recursive: true, force: true });
    });

    const source = (knownHosts: string, keyFile = sshd.clientKey.privateKeyFile) =>
      createSource(
        "app",
        GitSourceConfig.parse({
          type: "git",
          app_dir: join(tmp, "app"),
          local_path: repos.clone,
          key_filename: keyFile,
          known_hosts: knownHosts,
        }),
        { stateDir: join(tmp, "state"), log: memoryLogger(), retryDelayMs: 0 },
      );

    it("fetches with the configured key and known_hosts and exports the new tree", async () => {
      const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2 over ssh\n" });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const src = source(sshd.knownHostsFile);
      expect(await src.check()).toMatchObject({
        available: true,
        candidate: `origin/main (${v2.slice(0, 12)})`,
      });
      const stage = await mkdtemp(join(tmp, "stage-"));
      expect((await src.fetch(stage)).id).toBe(v2);
      expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2 over ssh\n");
    });

    // ssh's "Load key …: error in libcrypto" ended as exit 1 "git fetch failed", as if a retry could
    // help. (An encrypted key in batch mode is only "Permission denied (publickey)": still exit 1.)
    it("a key_filename ssh cannot load is bad input naming the key (exit 2)", async () => {
      const notKey = join(tmp, "not-a-key");
      await writeFile(notKey, "hello\n", { mode: 0o600 });
      for (const [file, said] of [[notKey, /libcrypto|invalid format/]] as const) {
        const err = await source(sshd.knownHostsFile, file)
          .check()
          .catch((e: unknown) => e);
        expect(err, String(err)).toBeInstanceOf(BadInputError);
        expect((err as BadInputError).exitCode).toBe(2);
        expect((err as Error).message).toContain(`sources.app.key_filename: ssh cannot use ${file}`);
        expect((err as Error).message).toMatch(said);
      }
    });

    // The login to check is the URL's user: the line showed "ssh://***@127.0.0.1:…", although
    // an ssh:// user is no secret (the same remote as `user@host:path` showed it).
    it("a key the server refuses is bad input naming key_filename and the login it was offered for", async () => {
      const stranger = await generateKey(join(tmp, "stranger_key"));
      const err = await source(sshd.knownHostsFile, stranger.privateKeyFile)
        .check()
        .catch((e: unknown) => e);
      expect(err, String(err)).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toBe(
        `ship.toml sources.app.key_filename: origin (${url}) does not accept the key ${stranger.privateKeyFile} (Permission denied (publickey))`,
      );
    });

    it("refuses a host that is not in known_hosts (StrictHostKeyChecking=yes)", async () => {
      const empty = join(tmp, "known_hosts_empty");
      await writeFile(empty, "");
      const err = await source(empty)
        .check()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerificationError);
      expect((err as Error).message).toBe(
        `git remote origin (${url}): host key not trusted: [127.0.0.1]:${sshd.port} is not in ${empty}; add its key there (ssh-keyscan) after checking it. StrictHostKeyChecking is always on`,
      );
    });

    // A changed key read "host key not trusted", as an unknown host does: adding a line is the fix
    // for one, and for the other the very thing not to do before asking why the key changed.
    it("a host key that changed since known_hosts recorded it is a mismatch naming the line and the key presented", async () => {
      const other = await generateKey(join(tmp, "not_the_host_key"));
      const [name] = (await readFile(sshd.knownHostsFile, "utf8")).split(" ");
      const stale = join(tmp, "known_hosts_stale");
      await writeFile(stale, `# the server before its reinstall\n${name} ${other.publicKey}\n`);
      const err = await source(stale)
        .check()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerificationError);
      expect((err as Error).message).toBe(
        `git remote origin (${url}): HOST KEY MISMATCH: the server's host key is not the one in ${stale}, line 2 (the server presented ${sshd.hostFingerprint}) (reinstalled, or a man-in-the-middle?); check the fingerprint with the server's admin, then replace that line`,
      );
    });
  },
);
