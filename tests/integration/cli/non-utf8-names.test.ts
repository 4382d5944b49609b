/**
 * A release holding a file name that is not UTF-8 (bytes a Latin-1 or Shift-JIS system wrote): ship's
 * paths are strings, so such a name would be installed renamed (U+FFFD in place of the bytes) or not
 * be found again. Every source refuses it the same way: exit 2, one line naming the file, nothing
 * installed. Before, a local directory failed with a bare ENOENT (exit 1) and a git release or an
 * archive installed the file under a mangled name.
 */
import { execFile, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_BIN } from "../../support/hub-cli.js";
import { hasProgram } from "../../support/require-program.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos } from "../sources/git-repos.js";

let root: string;

/** `dir`/<0xFE>"name": a file name that is not valid UTF-8. */
function writeLatin1Named(dir: string, name: string, body: string): void {
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xfe]), Buffer.from(name)]), body);
}

async function config(source: string): Promise<string> {
  const path = join(root, "ship.toml");
  await writeFile(
    path,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\n${source}app_dir = "${root}/app"\n`,
  );
  return path;
}

function expectRefused(run: { code: number | null; stderr: string; stdout: string }): void {
  expect(run.code, run.stderr).toBe(2);
  const problem =
    run.stdout +
    run.stderr
      .split("\n")
      .filter((l) => !l.startsWith("{"))
      .join("\n");
  expect(problem).toMatch(/\?name\.txt.*is not valid UTF-8 .*ship installs UTF-8 names only/);
  expect(problem).not.toContain("ENOENT");
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-non-utf8-"));
  await mkdir(join(root, "app"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a release file name that is not UTF-8 is refused by every source, nothing installed", () => {
  it("local directory and local .tar.gz", async () => {
    const rel = join(root, "rel");
    await mkdir(rel);
    await writeFile(join(rel, "app.py"), "v1\n");
    await writeFile(join(rel, "update-manifest.yaml"), 'version: "1.0.0"\n');
    writeLatin1Named(rel, "name.txt", "x\n");
    expectRefused(await runShip(["--config", await config(`type = "local"\npath = "${rel}"\n`)]));
    expect(await readdir(join(root, "app"))).toEqual([]);

    const archive = join(root, "rel.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", rel, "."]);
    expectRefused(await runShip(["--config", await config(`type = "local"\npath = "${archive}"\n`)]));
    expect(await readdir(join(root, "app"))).toEqual([]);
  });

  it.skipIf(!hasProgram("git"))(
    "git: on the first install (full export) and on a staged update",
    async () => {
      const repos = await makeRepos(join(root, "repos"));
      const cfg = await config(`type = "git"\nlocal_path = "${repos.clone}"\nbranch = "main"\n`);
      expect((await runShip(["--config", cfg])).code).toBe(0);
      const installed = (await readdir(join(root, "app"))).sort();

      await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2\n" });
      writeLatin1Named(repos.dev, "name.txt", "x\n");
      await git(repos.dev, "add", "-A");
      await git(repos.dev, "commit", "-q", "-m", "a Latin-1 name");
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const update = await runShip(["--config", cfg]);
      expectRefused(update);
      // Refused while listing the commit's tree, before anything is exported: named by its commit,
      // as the export names it (the path alone said nothing of which release held it).
      expect(update.stdout).toMatch(
        /^myapp: origin\/main \([0-9a-f]{12}\): entry "\?name\.txt": is not valid UTF-8/m,
      );
      expect((await readdir(join(root, "app"))).sort()).toEqual(installed);

      // A fresh app (no installed commit): the whole tree goes through git archive.
      await rm(join(root, "app"), { recursive: true });
      await rm(join(root, "var"), { recursive: true });
      await mkdir(join(root, "app"));
      expectRefused(await runShip(["--config", cfg]));
      expect(await readdir(join(root, "app"))).toEqual([]);
    },
  );
});

/**
 * `program ARGS` started by sh, each `@` in an argument replaced by the byte 0xE9 (a Latin-1 é),
 * from the directory `cwd` (where `@` is that byte too): Node can give a child only UTF-8 text.
 */
function runWithLatin1(
  program: string,
  args: string[],
  cwd = root,
  variables: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // %b reads \0351 as that byte (dash and bash); the words are temp paths and flags, with no ' or \.
  const bytes = (word: string) => `"$(printf '%b' '${word.replaceAll("@", "\\0351")}')"`;
  const exports = Object.entries(variables).map(([name, value]) => `export ${name}=${bytes(value)}; `);
  const line = `cd ${bytes(cwd)} && ${exports.join("")}exec "$0" ${[program, ...args].map(bytes).join(" ")}`;
  return new Promise((resolve) => {
    execFile("sh", ["-c", line, process.execPath], (error, stdout, stderr) =>
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
        stdout,
        stderr,
      }),
    );
  });
}

describe("a command-line path that is not UTF-8 is refused naming its flag and bytes", () => {
  // Node gave the word as caf\uFFFD.toml: "cannot read the config: no such file or directory", the file there.
  it("ship --config, --config=, --json, ship agent and ship-hub --config", async () => {
    const cfg = await config(`type = "local"\npath = "${root}/rel"\n`);
    execFileSync("sh", ["-c", `cp "$0" "$(printf '%s/caf\\351.toml' "$1")"`, cfg, root]);
    const said = `"${root}/caf\\xe9.toml" is not UTF-8`;
    const run = await runWithLatin1(SHIP_BIN, ["--config", `${root}/caf@.toml`, "--check-only"]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`ship: --config ${said}`);
    const json = await runWithLatin1(SHIP_BIN, ["--json", `--config=${root}/caf@.toml`, "--check-only"]);
    expect(json.code, json.stderr).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      exitCode: 2,
      error: `--config ${said} (bytes of a Latin-1 name?): ship reads its command line as UTF-8, where it names no file; rename it, or give a UTF-8 symlink to it`,
    });
    const agent = await runWithLatin1(SHIP_BIN, ["agent", "--config", `${root}/caf@.toml`]);
    expect(agent.code, agent.stderr).toBe(2);
    expect(agent.stderr).toContain(`ship: --config ${said}`);
    const hub = await runWithLatin1(HUB_BIN, ["serve", "--config", `${root}/caf@.toml`]);
    expect(hub.code, hub.stderr).toBe(2);
    expect(hub.stderr).toContain(`ship-hub: --config ${said}`);
  });

  it("a ./ship.toml in a working directory whose path is not UTF-8 is named, not passed over for /etc/ship", async () => {
    const cfg = await config(`type = "local"\npath = "${root}/rel"\n`);
    execFileSync("sh", [
      "-c",
      `d="$(printf '%s/d\\351' "$1")"; mkdir "$d" && cp "$0" "$d/ship.toml"`,
      cfg,
      root,
    ]);
    const run = await runWithLatin1(SHIP_BIN, ["--check-only"], `${root}/d@`);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `ship: ./ship.toml is in a working directory whose path is not UTF-8 (${root}/d\\xe9)`,
    );
    expect(run.stderr).not.toContain("/etc/ship");
  });

  // Node decodes the environment as it does the command line: ship-hub read "cannot read: no such
  // file" of caf\uFFFD, and ship took its host locks in a directory of that other name.
  it("a path in $SHIP_HUB_CONFIG or $SHIP_HOST_LOCK_DIR is refused naming the variable, nothing made", async () => {
    await mkdir(join(root, "rel"));
    await writeFile(join(root, "rel/update-manifest.yaml"), 'version: "1.0.0"\n');
    const cfg = await config(`type = "local"\npath = "${root}/rel"\n`);
    const before = (await readdir(root)).sort();
    const hub = await runWithLatin1(HUB_BIN, ["serve"], root, { SHIP_HUB_CONFIG: `${root}/caf@.toml` });
    expect(hub.code, hub.stderr).toBe(2);
    expect(hub.stderr).toContain(`ship-hub: $SHIP_HUB_CONFIG "${root}/caf\\xe9.toml" is not UTF-8`);
    const run = await runWithLatin1(SHIP_BIN, ["--config", cfg], root, {
      SHIP_HOST_LOCK_DIR: `${root}/caf@`,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toContain(`$SHIP_HOST_LOCK_DIR "${root}/caf\\xe9" is not UTF-8`);
    expect((await readdir(root)).filter((name) => name !== "var").sort()).toEqual(before);
  });
});
