/**
 * review35: `ship release http`/`sftp` refuse a file whose name is not UTF-8 (exit 2 naming it,
 * nothing built), but `ship release git` commits and tags a tree that tracks one (`caf\xe9.txt`,
 * exit 0, tag v1.0.0). Every agent following the tag then refuses it at fetch, exit 2: "web.artifact:
 * entry "caf?.txt": is not valid UTF-8 …: ship installs UTF-8 names only" — a release no host can
 * take, found only on the hosts. (For git "every tracked file counts", as README says of private keys.)
 * Expected: exit 2 naming the file, nothing committed or tagged.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runRelease } from "./run-cli.js";

let dir: string;
const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
    cwd: dir,
    encoding: "utf8",
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-git-latin1-"));
  git("init", "-q", "-b", "main");
  await writeFile(join(dir, "update-manifest.yaml"), 'version: "0.1.0"\n');
  await writeFile(join(dir, "app.py"), "print(1)\n");
  await writeFile(
    Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]),
    "x\n",
  );
  git("add", "-A");
  git("commit", "-qm", "init");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("ship release git refuses a tracked file whose name is not UTF-8, before committing or tagging", async () => {
  const head = git("rev-parse", "HEAD");
  const result = await runRelease(dir, "git", "1.0.0", "first");
  expect(result.err).toMatch(/caf\\xe9\.txt/);
  expect(result.code).toBe(2);
  expect(git("tag", "--list")).toBe("");
  expect(git("rev-parse", "HEAD")).toBe(head);
});

/** The same kind: a directory's name, a tracked symlink's name, a private key's name (never scanned). */
it.each([
  ["a directory", "lib/d\\xffir/mod.py", async (base: Buffer) => writeFile(base, "print(1)\n")],
  ["a symlink", "link\\xe9", async (base: Buffer) => symlink("app.py", base)],
  [
    "a private key",
    "deploy\\xe9.key",
    async (base: Buffer) =>
      writeFile(base, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n"),
  ],
])(
  "ship release git refuses %s whose name is not UTF-8 (%s), nothing committed or tagged",
  async (_, shown, make) => {
    const repo = await mkdtemp(join(tmpdir(), "ship-git-latin1-kind-"));
    const inRepo = (...args: string[]) =>
      execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
        cwd: repo,
        encoding: "utf8",
      });
    try {
      inRepo("init", "-q", "-b", "main");
      await writeFile(join(repo, "update-manifest.yaml"), 'version: "0.1.0"\n');
      await writeFile(join(repo, "app.py"), "print(1)\n");
      // The escaped name as bytes: "\xff" in `shown` is the byte 0xff.
      const bytes = Buffer.from(
        shown.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
        "latin1",
      );
      const slash = bytes.lastIndexOf("/");
      if (slash !== -1)
        await mkdir(Buffer.concat([Buffer.from(`${repo}/`), bytes.subarray(0, slash)]), { recursive: true });
      await make(Buffer.concat([Buffer.from(`${repo}/`), bytes]));
      inRepo("add", "-A");
      inRepo("commit", "-qm", "init");
      const head = inRepo("rev-parse", "HEAD");
      const result = await runRelease(repo, "git", "1.0.0", "first");
      expect(result.err).toBe(
        `ship release git: ${join(repo, shown)} has a name that is not valid UTF-8, so agents would install it under another name (or not at all): rename it (convmv -f latin1 -t utf8), or leave it out (git rm --cached it, .gitignore it and commit: every tracked file is in the tag); nothing was committed or tagged\n`,
      );
      expect(result.code).toBe(2);
      expect(inRepo("tag", "--list")).toBe("");
      expect(inRepo("rev-parse", "HEAD")).toBe(head);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  },
);

it("ship release git refuses a tracked symlink whose target is not UTF-8, nothing committed or tagged", async () => {
  const repo = await mkdtemp(join(tmpdir(), "ship-git-latin1-target-"));
  const inRepo = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
      cwd: repo,
      encoding: "utf8",
    });
  try {
    inRepo("init", "-q", "-b", "main");
    await writeFile(join(repo, "update-manifest.yaml"), 'version: "0.1.0"\n');
    await symlink(Buffer.from([0x63, 0x61, 0x66, 0xe9]), join(repo, "menu"));
    inRepo("add", "-A");
    inRepo("commit", "-qm", "init");
    const head = inRepo("rev-parse", "HEAD");
    const result = await runRelease(repo, "git", "1.0.0", "first");
    expect(result.err).toMatch(
      /^ship release git: .*\/menu is a symlink to caf\\xe9, a target that is not valid UTF-8.*nothing was committed or tagged\n$/,
    );
    expect(result.code).toBe(2);
    expect(inRepo("tag", "--list")).toBe("");
    expect(inRepo("rev-parse", "HEAD")).toBe(head);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
});
