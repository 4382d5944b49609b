/**
 * review35: `ship release http`/`sftp` refuse a file whose name is not UTF-8 (exit 2 naming it,
 * nothing built), but `ship release git` commits and tags a tree that tracks one (`caf\xe9.txt`,
 * exit 0, tag v1.0.0). Every agent following the tag then refuses it at fetch, exit 2: "web.artifact:
 * entry "caf?.txt": is not valid UTF-8 …: ship installs UTF-8 names only" — a release no host can
 * take, found only on the hosts. (For git "every tracked file counts", as README says of private keys.)
 * Expected: exit 2 naming the file, nothing committed or tagged.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
