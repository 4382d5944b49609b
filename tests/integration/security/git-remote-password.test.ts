/**
 * A git `remote` URL's password reaches git through a credential helper only when the URL is an
 * http(s) one git can read: an `ssh://` or `ftp://` remote holding one, or an https remote with a
 * port typo, went on git's command line as written, where `ps` shows it to every local user (and
 * the typo failed the run as "download of <invalid url>", exit 1). Such a remote is now exit 2
 * naming the key, before git runs, the value shown without its login. A real ship and a `git` on
 * PATH that records its command line before running the real one.
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const PASSWORD = "Pa55-Secret";
let root: string;
let bin: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-git-remote-password-"));
  bin = join(root, "bin");
  await mkdir(bin);
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  await writeFile(
    join(bin, "git"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> "${root}/argv"\nexec ${realGit} "$@"\n`,
  );
  await chmod(join(bin, "git"), 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function run(remote: string) {
  const dir = join(root, `case${++n}`);
  await rm(join(root, "argv"), { force: true });
  await mkdir(join(dir, "app"), { recursive: true });
  execFileSync("git", ["init", "-q", join(dir, "clone")]);
  const config = join(dir, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${dir}/state.json"\nbackup_dir = "${dir}/backups"\n\n[sources.s]\ntype = "git"\napp_dir = "${dir}/app"\nlocal_path = "${dir}/clone"\nremote = "${remote}"\n`,
    { mode: 0o600 },
  );
  return runShip(["--config", config, "--force"], { env: { PATH: `${bin}:${process.env.PATH}` } });
}

const argvSeen = () => readFile(join(root, "argv"), "utf8").catch(() => "");

describe("a git remote's password never goes on git's command line", () => {
  it.each([
    ["an ssh:// remote", `ssh://deploy:${PASSWORD}@127.0.0.1:9/app.git`, "holds a password"],
    ["an ftp:// remote", `ftp://deploy:${PASSWORD}@127.0.0.1:9/app.git`, "holds a password"],
    [
      "an https remote with a port typo",
      `https://deploy:${PASSWORD}@127.0.0.1:443000/app.git`,
      "is not a valid URL",
    ],
  ])("%s: exit 2 naming the key, before git runs", async (_, remote, expected) => {
    const result = await run(remote);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`sources.s.remote: ${expected}`);
    expect(result.stderr).toContain("***@127.0.0.1");
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(await argvSeen()).not.toContain(PASSWORD);
  });

  it("an https remote's password still goes to git, through the credential helper, not its command line", async () => {
    const result = await run(`https://deploy:${PASSWORD}@127.0.0.1:9/app.git`);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain("cannot reach the git server at 127.0.0.1 port 9");
    const argv = await argvSeen();
    expect(argv).toContain("https://127.0.0.1:9/app.git");
    expect(argv).not.toContain(PASSWORD);
  });
});
